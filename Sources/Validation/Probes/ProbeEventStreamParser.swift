import Foundation

/// Splits a `text/event-stream` body into the `data:` payloads of its events (lines joined by
/// a newline, as the EventSource rules say); comments and other fields are skipped.
struct ProbeEventStreamParser: Sendable {
    private var buffer = Data()
    private var data: [Data] = []

    mutating func feed(_ bytes: Data) -> [Data] {
        buffer.append(bytes)
        var events: [Data] = []
        while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
            var line = buffer[buffer.startIndex..<newline]
            buffer = Data(buffer[buffer.index(after: newline)...])
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.isEmpty {
                if let event = flush() { events.append(event) }
            } else if line.starts(with: Data("data:".utf8)) {
                var payload = line.dropFirst(5)
                if payload.first == UInt8(ascii: " ") { payload = payload.dropFirst() }
                data.append(Data(payload))
            }
        }
        return events
    }

    /// The last event, when the stream ended without the blank line that closes it.
    mutating func finish() -> [Data] {
        if !buffer.isEmpty {
            _ = feed(Data("\n".utf8))
        }
        return flush().map { [$0] } ?? []
    }

    private mutating func flush() -> Data? {
        guard !data.isEmpty else { return nil }
        let joined = data.reduce(into: Data()) { result, part in
            if !result.isEmpty { result.append(UInt8(ascii: "\n")) }
            result.append(part)
        }
        data = []
        return joined
    }
}
