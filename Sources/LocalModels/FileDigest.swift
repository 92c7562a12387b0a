import Crypto
import Foundation

/// Digests of a file, read in blocks (a model's weights are hundreds of MB).
enum FileDigest {
    static func sha256(of url: URL) throws -> String {
        var hasher = SHA256()
        try read(url) { hasher.update(data: $0) }
        return hex(hasher.finalize())
    }

    /// Git's object id of the file as a blob: SHA-1 of "blob SIZE\0" and the contents. The hub's
    /// ETag for a file kept in git (not LFS) is this id.
    static func gitBlobSHA1(of url: URL, size: Int64) throws -> String {
        var hasher = Insecure.SHA1()
        hasher.update(data: Data("blob \(size)\u{0}".utf8))
        try read(url) { hasher.update(data: $0) }
        return hex(hasher.finalize())
    }

    private static func read(_ url: URL, _ consume: (Data) -> Void) throws {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty { consume(block) }
    }

    private static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
