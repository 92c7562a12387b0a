import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a file of JSON Lines (a PostgreSQL backup's table file) one line at a time, in
/// blocks, so that a large table never sits in memory whole. A line longer than
/// `maximumLineBytes` is an error rather than an unbounded buffer (a damaged file, or one
/// not made by ares).
final class JSONLinesReader {
    static let maximumLineBytes = 1 << 30
    private let handle: FileHandle
    private let path: String
    private var buffer: [UInt8] = []
    /// Where the next line starts in `buffer`.
    private var start = 0
    /// Where the search for the next newline resumes: bytes before it hold none, so a line
    /// spanning many blocks (a knowledge snapshot of megabytes) is scanned once, not once per block.
    private var scanned = 0
    private var atEnd = false

    init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw BackupError.unreadable(path, "cannot open it") }
        self.handle = handle
        self.path = path
    }

    deinit { try? handle.close() }

    /// The next line without its newline; nil at the end of the file. A last line without a
    /// newline counts as a line (it is still checked against the manifest's row count).
    func nextLine() throws -> Data? {
        while true {
            if let newline = newlineIndex() {
                let line = Data(buffer[start..<newline])
                start = newline + 1
                scanned = start
                return line
            }
            scanned = buffer.count
            if atEnd {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                return Data(buffer[start...])
            }
            guard buffer.count - start <= Self.maximumLineBytes else {
                throw BackupError.unreadable(path, "a line is longer than \(Self.maximumLineBytes) bytes")
            }
            let block = try handle.read(upToCount: 1 << 20) ?? Data()
            if block.isEmpty {
                atEnd = true
            } else {
                // Drop what was returned already, then append: each byte is moved about once.
                if start > 0 {
                    buffer.removeFirst(start)
                    scanned -= start
                    start = 0
                }
                buffer.append(contentsOf: block)
            }
        }
    }

    /// The index of the first newline at or after `scanned`, found with memchr.
    private func newlineIndex() -> Int? {
        guard scanned < buffer.count else { return nil }
        return buffer.withUnsafeBufferPointer { bytes -> Int? in
            guard let base = bytes.baseAddress, let found = memchr(base + scanned, 0x0A, bytes.count - scanned) else { return nil }
            return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
    }
}
