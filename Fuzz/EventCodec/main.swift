// fuzz-event-codec: the reader of stored task events (TaskEventCodec.decode: the binary form,
// and JSON for payloads that do not start with its version byte), fed damaged payloads, then
// what a task's events go through after reading: the fold into TaskState, the report JSON and
// the progress lines.
//
// Input: one mode byte, then either one payload (bit 0 clear) or a stream of payloads (bit 0
// set), each prefixed by its length in 3 bytes, little-endian.
//
// Checked beyond "no trap": whatever decodes re-encodes to bytes that decode again to the same
// bytes (encode(decode(encode(e))) == encode(e)).
import Foundation
import FuzzSupport
import ResearchCore
import TaskService

final class EventCodecFuzzTarget: FuzzTarget {
    func run(_ input: UnsafeRawBufferPointer) {
        guard let mode = input.first else { return }
        let body = Array(input.dropFirst())
        if mode & 1 == 0 {
            if let event = decode(body) { _ = TaskProgressLine.describe(event) }
            return
        }
        var events: [TaskEvent] = []
        var offset = 0
        while body.count - offset >= 3 {
            let length = Int(body[offset]) | Int(body[offset + 1]) << 8 | Int(body[offset + 2]) << 16
            offset += 3
            let payload = Array(body[offset..<min(body.count, offset + length)])
            offset += payload.count
            // A reader stops at the first event it cannot read (ResearchTaskService throws).
            guard let event = decode(payload) else { return }
            events.append(event)
            _ = TaskProgressLine.describe(event)
        }
        guard let state = try? TaskState.fold(events) else { return }
        _ = TaskReportJSON.document(taskID: "task-fuzz", state: state, totalMilliseconds: 12.5)
        _ = try? TaskReportJSON.encode(taskID: "task-fuzz", state: state, totalMilliseconds: nil)
        _ = state.pendingSubQuestions
    }

    private func decode(_ payload: [UInt8]) -> TaskEvent? {
        guard let event = try? TaskEventCodec.decode(Data(payload)) else { return nil }
        let encoded = TaskEventCodec.encode(event)
        let again: TaskEvent
        do {
            again = try TaskEventCodec.decode(encoded)
        } catch {
            fuzzFailure("a decoded event re-encodes to bytes that do not decode: \(error)")
        }
        guard TaskEventCodec.encode(again) == encoded else {
            fuzzFailure("encoding is not stable: encode(decode(encode(e))) != encode(e)")
        }
        return event
    }
}

FuzzDriver.run(EventCodecFuzzTarget())
