import Crypto
import Foundation
import Instrumentation
import ServiceContextModule

/// Which trace a span belongs to and its own id, as W3C Trace Context carries them
/// (`traceparent: 00-<32 hex trace id>-<16 hex span id>-<flags>`).
public struct TraceIdentity: Sendable, Hashable {
    public var traceID: [UInt8]
    public var spanID: [UInt8]

    public static func random() -> TraceIdentity {
        var generator = SystemRandomNumberGenerator()
        return TraceIdentity(traceID: (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) },
                             spanID: newSpanID())
    }

    public static func newSpanID() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// The trace of a research task: derived from its id, so that every step of the task,
    /// across restarts, lands in one trace.
    public static func task(_ taskID: String) -> TraceIdentity {
        let digest = Array(SHA256.hash(data: Data(taskID.utf8)))
        return TraceIdentity(traceID: Array(digest[0..<16]), spanID: Array(digest[16..<24]))
    }

    public var traceIDHex: String { Self.hex(traceID) }
    public var spanIDHex: String { Self.hex(spanID) }
    public var traceparent: String { "00-\(traceIDHex)-\(spanIDHex)-01" }

    /// Parses a `traceparent` header; nil when it is malformed or all zeros.
    public init?(traceparent: String) {
        let fields = traceparent.trimmingCharacters(in: .whitespaces).split(separator: "-")
        guard fields.count == 4, fields[0].count == 2, fields[0] != "ff",
              let trace = Self.bytes(fields[1], count: 16), let span = Self.bytes(fields[2], count: 8),
              trace.contains(where: { $0 != 0 }), span.contains(where: { $0 != 0 }) else { return nil }
        self.init(traceID: trace, spanID: span)
    }

    public init(traceID: [UInt8], spanID: [UInt8]) {
        self.traceID = traceID
        self.spanID = spanID
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    private static func bytes(_ text: Substring, count: Int) -> [UInt8]? {
        guard text.count == count * 2 else { return nil }
        var result: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            result.append(byte)
            index = next
        }
        return result
    }
}

/// The key under which the current span's identity travels in a `ServiceContext`.
public enum TraceIdentityKey: ServiceContextKey {
    public typealias Value = TraceIdentity
}

/// Asks the tracer for a span with exactly this identity and no parent: the root span of a
/// trace whose id was chosen beforehand (a task's trace).
public enum RootSpanIdentityKey: ServiceContextKey {
    public typealias Value = TraceIdentity
}
