import Foundation
import Knowledge
#if canImport(Glibc)
import Glibc
#endif

/// Keeps the data directory private to its owner: it holds every question, report and
/// webhook credential, and the API keys' hashes. A new directory is created 0700 (its files
/// 0600, through the process umask set at start); an existing one that others can read is
/// tightened, and `prepare` returns a notice saying what changed for the caller to show.
public enum DataDirectoryPermissions {
    /// No permission for group or others on anything ares creates from here on.
    public static func restrictNewFiles() {
        umask(0o077)
    }

    /// Creates `directory` (0700) if needed, or tightens it and everything in it. Returns a
    /// notice when something was changed.
    public static func prepare(_ directory: URL) throws -> String? {
        let path = directory.path
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
                let reason = underlying.map { String(cString: strerror(Int32(truncatingIfNeeded: $0.code))) } ?? error.localizedDescription
                throw KnowledgeBaseError.dataDirectoryNotWritable(path, reason)
            }
            return nil
        }
        guard isDirectory.boolValue else { return nil }
        var tightened = 0
        if tighten(path, to: 0o700) { tightened += 1 }
        if let entries = FileManager.default.enumerator(atPath: path) {
            for case let relative as String in entries {
                let entry = path + "/" + relative
                var info = stat()
                guard lstat(entry, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR: if tighten(entry, to: 0o700) { tightened += 1 }
                case S_IFREG: if tighten(entry, to: 0o600) { tightened += 1 }
                default: continue  // symbolic links and the like are left alone
                }
            }
        }
        guard tightened > 0 else { return nil }
        return "made \(tightened) item(s) in \(path) private to their owner (directories 0700, files 0600): they hold questions, reports, credentials and key hashes"
    }

    /// Removes group and other permissions from `path`; true when it had any.
    private static func tighten(_ path: String, to mode: mode_t) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & 0o077 != 0 else { return false }
        return chmod(path, mode) == 0
    }
}
