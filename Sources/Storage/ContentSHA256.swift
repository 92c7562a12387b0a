import Crypto
import Foundation

/// The SHA-256 of bytes in memory, lower-case hex: for modules that record a content hash
/// (a pruned task's report) without depending on a crypto library themselves.
public enum ContentSHA256 {
    public static func hex(_ data: Data) -> String {
        EventHashChain.hex(SHA256.hash(data: data))
    }

    /// The first `count` bytes (at most 32) of the SHA-256 of `data`: a short fingerprint of
    /// content stored elsewhere (a passage's text that a task's evidence refers to).
    public static func prefix(_ data: Data, count: Int) -> [UInt8] {
        Array(SHA256.hash(data: data).prefix(max(0, count)))
    }
}
