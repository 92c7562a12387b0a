import Crypto
import Foundation

/// The hash chain of a stream: each event's hash is SHA-256 over the previous hash and
/// everything that identifies the event, so changing, removing or reordering any event
/// breaks every link after it.
enum EventHashChain {
    /// The "previous hash" of a stream's first event.
    static let genesis = String(repeating: "0", count: 64)

    static func hash(previous: String, stream: String, version: Int64, type: String, recordedAt: Int64, payload: Data) -> String {
        var hasher = SHA256()
        hasher.update(data: Data("\(previous)\n\(stream)\n\(version)\n\(type)\n\(recordedAt)\n".utf8))
        hasher.update(data: payload)
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
