import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Whether a store takes writes right now, as its last write (or probe) found: what readiness
/// reports. A failed write marks the store unwritable with the reason; the next write that
/// commits, or a probe that commits a tiny write, marks it writable again, so recovery needs
/// no restart and no operator action beyond freeing space.
public final class StorageWritability: Sendable {
    public enum Status: Sendable, Equatable {
        case writable
        case unwritable(StorageUnavailableError, since: Date)
    }

    /// Free bytes the file system must have before a store found full is tried again: a probe
    /// of one page may fit in room SQLite kept inside its WAL while a task's step would not,
    /// and readiness flapping on that would send traffic to a server that refuses it.
    public static let reserveBytes: Int64 = 1 << 20

    private let state = Mutex(Status.writable)
    private let commitProbe: @Sendable () async throws -> Void
    /// The directory whose filesystem holds the store's files (nil: unknown).
    public let directory: String?

    /// `probe` commits a small write (and throws what the write threw); `directory` is where
    /// the files live, whose free space is checked first (nil: not checked).
    public init(directory: String? = nil, probe: @escaping @Sendable () async throws -> Void) {
        self.directory = directory
        commitProbe = probe
    }

    /// Bytes available to this process on the file system holding `path`; nil when unknown.
    public static func freeBytes(at path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let (bytes, overflow) = UInt64(info.f_bavail).multipliedReportingOverflow(by: UInt64(info.f_frsize))
        return overflow || bytes > UInt64(Int64.max) ? Int64.max : Int64(bytes)
    }

    /// Bytes available to this process and the filesystem's size, for the storage gauges; nil when unknown.
    public static func space(at path: String) -> (available: Int64, total: Int64)? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let (available, overflowA) = UInt64(info.f_bavail).multipliedReportingOverflow(by: UInt64(info.f_frsize))
        let (total, overflowT) = UInt64(info.f_blocks).multipliedReportingOverflow(by: UInt64(info.f_frsize))
        func clamp(_ value: UInt64, _ overflow: Bool) -> Int64 { overflow || value > UInt64(Int64.max) ? Int64.max : Int64(value) }
        return (clamp(available, overflowA), clamp(total, overflowT))
    }

    public var status: Status { state.withLock { $0 } }

    public var isWritable: Bool { status == .writable }

    func recordCommitted() {
        state.withLock { status in
            if status != .writable { status = .writable }
        }
    }

    func recordRefused(_ error: StorageUnavailableError) {
        state.withLock { status in
            // Keeps the first time it failed: "unwritable since" is what an operator needs.
            if case .unwritable(_, let since) = status {
                status = .unwritable(error, since: since)
            } else {
                status = .unwritable(error, since: Date())
            }
        }
    }

    /// Tries a small committed write when the store was last found unwritable (a writable store
    /// is not written to: readiness checks must not grow the file); returns the status after.
    @discardableResult
    public func recheck() async -> Status {
        guard !isWritable else { return .writable }
        if case let .unwritable(refused, _) = status, refused.reason == .full, let directory,
           let free = Self.freeBytes(at: directory), free < Self.reserveBytes {
            return status
        }
        do {
            try await commitProbe()
            recordCommitted()
        } catch {
            if let refused = StorageUnavailableError.classify(error) { recordRefused(refused) }
        }
        return status
    }
}
