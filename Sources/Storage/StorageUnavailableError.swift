import Foundation
import GRDB

/// A write the storage could not take because of where it lives, not because of what was
/// written: the disk is full, the file system went read-only, or the device failed a write.
/// Nothing of the refused write was kept (SQLite rolls the transaction back), everything
/// committed before is intact, and the same write may succeed once space or write access
/// returns: callers answer "retry later" (JSON-RPC -32050, HTTP 503 with Retry-After) and stay up.
public struct StorageUnavailableError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable, Equatable {
        /// SQLITE_FULL: no space left on the device (or the database reached its size limit).
        case full = "disk full"
        /// SQLITE_READONLY / SQLITE_CANTOPEN: the file or its file system takes no writes.
        case readOnly = "read-only"
        /// SQLITE_IOERR: the device refused a read or write (a failing disk, a file system
        /// remounted read-only under an open file, a lost network volume).
        case ioError = "I/O error"
        /// The database server (PostgreSQL) cannot be reached or dropped the connection: the
        /// write was not acknowledged, and may be tried again once it is back.
        case unreachable = "database unreachable"
        /// Continuous backup shipping (`--backup-to`) has been behind or failing for longer than
        /// its limit: acknowledging the write would break the bounded RPO the operator asked for.
        case backupBehind = "backup shipping behind"
        /// PostgreSQL's notification queue is nearly full (a listening session stopped reading):
        /// a commit that notifies into a full queue fails after its rows were acknowledged, so
        /// writes wait until the queue drains.
        case notificationQueueFull = "database notification queue nearly full"
    }

    /// How long a client should wait before trying again: space usually returns through an
    /// operator or retention, not within milliseconds.
    public static let retryAfterSeconds = 5

    public var reason: Reason
    /// SQLite's own words, without SQL or arguments (they may hold payloads).
    public var detail: String

    public init(reason: Reason, detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String {
        "the storage takes no writes right now (\(reason.rawValue): \(detail)); nothing of this request was stored, and what was stored before is intact"
    }

    /// The storage failure `error` is, if it is one: a GRDB error with a result code that says
    /// the device or file system refused (anything else, such as a constraint, is the request's
    /// own fault and stays what it is).
    public static func classify(_ error: any Error) -> StorageUnavailableError? {
        if let known = error as? StorageUnavailableError { return known }
        // A backend outside this module (PostgreSQL) says for itself which of its errors mean
        // "the storage is away", so that callers need not know its error types.
        if let reporting = error as? any StorageUnavailabilityReporting { return reporting.storageUnavailable }
        guard let database = error as? DatabaseError else { return nil }
        let message = database.message ?? "\(database.resultCode)"
        switch database.resultCode {
        case .SQLITE_FULL: return StorageUnavailableError(reason: .full, detail: message)
        case .SQLITE_READONLY, .SQLITE_CANTOPEN: return StorageUnavailableError(reason: .readOnly, detail: message)
        case .SQLITE_IOERR: return StorageUnavailableError(reason: .ioError, detail: message)
        default: return nil
        }
    }
}

/// An error of a storage backend that knows whether it means the storage is unavailable (the
/// database unreachable, the connection lost) rather than a fault of the request:
/// `StorageUnavailableError.classify` asks it, so a lost database answers "retry later" and
/// running tasks pause at their last recorded step, as with a full disk.
public protocol StorageUnavailabilityReporting: Error {
    /// The unavailability this error is, nil when it is something else.
    var storageUnavailable: StorageUnavailableError? { get }
}
