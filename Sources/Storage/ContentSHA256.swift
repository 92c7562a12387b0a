import Crypto
import Foundation

/// The SHA-256 of bytes in memory, lower-case hex: for modules that record a content hash
/// (a pruned task's report) without depending on a crypto library themselves.
public enum ContentSHA256 {
    public static func hex(_ data: Data) -> String {
        EventHashChain.hex(SHA256.hash(data: data))
    }
}
