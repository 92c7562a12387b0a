import Foundation
import Synchronization

/// A secret that may change while ares runs: a fixed text (from the environment), or a file
/// that is read again whenever it changes (its inode, size or modification time), so that a
/// rotated key takes effect at the next request without a restart. The text is never part of
/// a description, so it cannot reach a log line or an error message by accident.
public final class RotatingSecret: Sendable, CustomStringConvertible {
    private enum Source {
        case fixed(String)
        case file(String)
    }

    private struct Cached {
        var signature: FileSignature?
        var value: String?
    }

    private struct FileSignature: Equatable {
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int64
        var modifiedNanoseconds: Int64
    }

    private let source: Source
    private let cached = Mutex(Cached())

    /// A secret that does not change (an environment variable's value); empty counts as none.
    public init(fixed value: String) {
        source = .fixed(value)
    }

    /// A secret kept in the file at `path`, surrounding white space ignored.
    public init(file path: String) {
        source = .file(path)
    }

    public var description: String {
        switch source {
        case .fixed: "a secret from the environment"
        case let .file(path): "the secret in \(path)"
        }
    }

    /// The secret now; nil when it is empty. Throws when its file cannot be read (the error
    /// names the file, never its contents).
    public func current() throws -> String? {
        switch source {
        case let .fixed(value):
            return value.isEmpty ? nil : value
        case let .file(path):
            let signature = Self.signature(of: path)
            if let signature, let value = cached.withLock({ $0.signature == signature ? $0.value : nil }) {
                return value
            }
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw RotatingSecretError(description: "cannot read the secret file '\(path)': \(error.localizedDescription)")
            }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            let result = value.isEmpty ? nil : value
            cached.withLock { $0 = Cached(signature: signature, value: result) }
            return result
        }
    }

    private static func signature(of path: String) -> FileSignature? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileSignature(inode: UInt64(truncatingIfNeeded: info.st_ino), size: Int64(truncatingIfNeeded: info.st_size),
                             modifiedSeconds: Int64(truncatingIfNeeded: info.st_mtim.tv_sec),
                             modifiedNanoseconds: Int64(truncatingIfNeeded: info.st_mtim.tv_nsec))
    }
}

/// A secret file that cannot be read.
public struct RotatingSecretError: Error, Sendable, CustomStringConvertible {
    public var description: String
}
