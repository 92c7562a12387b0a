// fuzz-event-codec: the reader of stored task events (TaskEventCodec.decode: the binary form,
// and JSON for payloads that do not start with its version byte), fed damaged payloads, then
// what a task's events go through after reading: the fold into TaskState, the report JSON and
// the progress lines.
//
// Input: one mode byte, then either one payload (bit 0 clear) or a stream of payloads (bit 0
// set), each prefixed by its length in 3 bytes, little-endian.
//
// Checked beyond "no trap": whatever decodes re-encodes (in the compatible format, which keeps
// every field in the payload) to bytes that decode again to the same bytes
// (encode(decode(encode(e))) == encode(e)).
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

    /// The format that writes every field in the payload: the compact one refers to passages by
    /// a digest of their text, which a payload read without the knowledge base cannot restore,
    /// so only the compatible form can be checked for a stable round trip.
    private static let complete: TaskEventCodec.Context = {
        var context = TaskEventCodec.Context()
        context.format = .compatible
        return context
    }()

    private func decode(_ payload: [UInt8]) -> TaskEvent? {
        guard let event = try? TaskEventCodec.decode(Data(payload)) else { return nil }
        // The compact form must read back without trapping, whatever it then holds.
        _ = try? TaskEventCodec.decode(TaskEventCodec.encode(event))
        let encoded = TaskEventCodec.encode(event, context: Self.complete)
        let again: TaskEvent
        do {
            again = try TaskEventCodec.decode(encoded)
        } catch {
            fuzzFailure("a decoded event re-encodes to bytes that do not decode: \(error)")
        }
        guard TaskEventCodec.encode(again, context: Self.complete) == encoded else {
            fuzzFailure("encoding is not stable: encode(decode(encode(e))) != encode(e)")
        }
        return event
    }
}

FuzzDriver.run(EventCodecFuzzTarget())
