import Foundation
import Storage

/// `ares restore SRC --data-dir NEW`: checks the backup first (a damaged one is refused),
/// then copies its files into a new, empty, private data directory. The databases are
/// self-contained files (see `SQLiteFileCopy`), so the copy is a plain one; ares switches them
/// back to WAL when it opens them.
public enum DataDirectoryRestore {
    public struct Summary: Sendable {
        public var files: Int
        public var bytes: Int64
        public var streams: Int
        /// From the start of the check to the last file synced: the part of the recovery time
        /// spent restoring (the server's start comes on top).
        public var seconds: Double
    }

    public static func restore(backup source: URL, into dataDirectory: URL, progress: (String) -> Void) throws -> Summary {
        let clock = ContinuousClock()
        let started = clock.now
        progress("checking the backup")
        let verification = try BackupVerification.check(backup: source)
        guard verification.manifest.backend == .dataDirectory else {
            throw BackupError.unreadable(source.path, "a PostgreSQL backup: restore it with --database URL")
        }
        guard verification.isIntact else { throw BackupError.damaged(verification.problems) }
        try copyFiles(of: verification.manifest, from: source, into: dataDirectory, progress: progress)
        let elapsed = clock.now - started
        // The sizes were checked against the files; wrapping (&+) only guards a sum no disk reaches.
        let manifest = verification.manifest
        return Summary(files: manifest.files.count, bytes: manifest.files.reduce(0) { $0 &+ $1.size }, streams: manifest.chains.count,
                       seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// Copies the files of a backup that was checked already into a new or empty private
    /// directory; a failure empties it again. (A continuous backup's restore checks its base as
    /// part of the whole generation, then copies it with this.)
    static func copyFiles(of manifest: BackupManifest, from source: URL, into dataDirectory: URL, progress: (String) -> Void) throws {
        try DataDirectoryBackup.refuseNesting(dataDirectory, in: source)
        try DataDirectoryBackup.prepareEmptyDirectory(dataDirectory)
        let dataRoot = source.appendingPathComponent(BackupManifest.dataFolder)
        do {
            for file in manifest.files {
                let to = dataDirectory.appendingPathComponent(file.path)
                try DataDirectoryBackup.makePrivateDirectory(to.deletingLastPathComponent())
                progress("restoring \(file.path)")
                do {
                    try DataDirectoryBackup.copyPrivately(from: dataRoot.appendingPathComponent(file.path).path, to: to.path)
                } catch {
                    throw BackupError.copyFailed(file: file.path, reason: DataDirectoryBackup.describe(error))
                }
            }
        } catch {
            // A half-restored directory must not be served: empty it again.
            if let entries = try? FileManager.default.contentsOfDirectory(atPath: dataDirectory.path) {
                for entry in entries { try? FileManager.default.removeItem(at: dataDirectory.appendingPathComponent(entry)) }
            }
            throw error
        }
    }
}
