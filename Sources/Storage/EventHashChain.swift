import Crypto
import Foundation

/// The hash chain of a stream: each event's hash is SHA-256 over the previous hash and
/// everything that identifies the event, so changing, removing or reordering any event
/// breaks every link after it.
package enum EventHashChain {
    /// The "previous hash" of a stream's first event.
    package static let genesis = String(repeating: "0", count: 64)

    package static func hash(previous: String, stream: String, version: Int64, type: String, recordedAt: Int64, payload: Data) -> String {
        var hasher = SHA256()
        hasher.update(data: Data("\(previous)\n\(stream)\n\(version)\n\(type)\n\(recordedAt)\n".utf8))
        hasher.update(data: payload)
        return hex(hasher.finalize())
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Lower-case hex without a formatter per byte (this runs once per appended event).
    static func hex(_ digest: some Sequence<UInt8>) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        for byte in digest {
            bytes.append(hexDigits[Int(byte >> 4)])
            bytes.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
