import Foundation

/// Why a backup, a restore or a backup check could not run, worded for the operator.
public enum BackupError: Error, CustomStringConvertible, Sendable, Equatable {
    case sourceMissing(String)
    case destinationNotEmpty(String)
    case notWritable(String, String)
    case copyFailed(file: String, reason: String)
    case noManifest(String)
    case unreadable(String, String)
    case newerFormat(found: Int, supported: Int)
    case damaged([String])
    case nested(inner: String, outer: String)

    public var description: String {
        switch self {
        case let .sourceMissing(path):
            "\(path) does not exist or is not a directory"
        case let .destinationNotEmpty(path):
            "\(path) exists and is not empty: choose a new or empty directory (nothing is ever overwritten)"
        case let .notWritable(path, reason):
            "cannot write to \(path): \(reason)"
        case let .copyFailed(file, reason):
            "copying \(file) failed: \(reason); the incomplete copy was removed"
        case let .noManifest(path):
            "\(path) has no \(BackupManifest.fileName): it is not a backup, or the backup did not finish"
        case let .unreadable(path, reason):
            "cannot read \(path): \(reason)"
        case let .newerFormat(found, supported):
            "the backup has format version \(found), this ares reads up to version \(supported): restore it with a newer ares"
        case let .nested(inner, outer):
            "\(inner) is inside \(outer): choose a directory outside it (a copy must not contain itself)"
        case let .damaged(problems):
            "the backup is damaged, refusing to restore it:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
        }
    }
}
