import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive, advisory lock on a data directory, held by the one process that writes it.
///
/// It is an `flock` on `ares.lock`, so the kernel releases it when the holder exits, even by
/// SIGKILL: a crash never leaves a stale lock behind. The holder's pid is written into the
/// file so that the error can name it. Readers take no lock: SQLite (WAL) and the atomically
/// replaced index snapshot let them read while a writer works.
public final class DataDirectoryLock: Sendable {
    public let path: String
    private let descriptor: Int32

    public struct HeldElsewhere: Error, CustomStringConvertible, Sendable {
        public var path: String
        public var holder: String
        public var description: String {
            "another ares process (\(holder)) is writing to this data directory (lock \(path)); wait for it to finish or use another --data-dir"
        }
    }

    /// Takes the lock without waiting; throws `HeldElsewhere` when another process has it.
    public init(directory: URL) throws {
        path = directory.appendingPathComponent("ares.lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw KnowledgeBaseError.dataDirectoryNotWritable(directory.path, String(cString: strerror(errno)))
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw HeldElsewhere(path: path, holder: holder.map { $0.isEmpty ? "unknown pid" : $0 } ?? "unknown pid")
        }
        descriptor = fd
        let note = "pid \(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = note.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit {
        _ = ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
