import Crypto
import Foundation

/// The SHA-256 of a file, read in blocks so that a large database never sits in memory whole.
public enum FileSHA256 {
    /// The lowercase hex digest of the file at `path`, and its size in bytes.
    public static func digest(_ path: String) throws -> (hex: String, size: Int64) {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty {
            hasher.update(data: block)
            size += Int64(block.count)
        }
        return (hasher.finalize().map { String(format: "%02x", $0) }.joined(), size)
    }
}
