import Foundation
import GRDB

/// Copies and checks SQLite database files for backups, without knowing what they hold.
///
/// The copy goes through SQLite's online backup API, never a raw file copy: the files are
/// in WAL mode and a running server may be writing them, so the bytes on disk (main file plus
/// `-wal`) are not a database on their own. The backup reads one consistent snapshot.
public enum SQLiteFileCopy {
    /// Whether the file at `path` starts with SQLite's header (what decides how it is copied).
    public static func isDatabase(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        return header == Data("SQLite format 3\0".utf8)
    }

    /// Copies the database at `source` into a new file at `destination` (which must not exist),
    /// created with `permissions`. The copy is left in rollback-journal mode, one self-contained
    /// file: ares switches it back to WAL when it opens it.
    public static func backup(from source: String, to destination: String, permissions: Int = 0o600) throws {
        guard FileManager.default.createFile(atPath: destination, contents: nil, attributes: [.posixPermissions: permissions]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination])
        }
        var readConfiguration = Configuration()
        readConfiguration.readonly = true
        // The server may be committing; wait for its lock rather than fail the backup.
        readConfiguration.busyMode = .timeout(10)
        readConfiguration.label = "ares.backup.source"
        let reader = try DatabaseQueue(path: source, configuration: readConfiguration)
        var writeConfiguration = Configuration()
        writeConfiguration.label = "ares.backup.destination"
        let writer = try DatabaseQueue(path: destination, configuration: writeConfiguration)
        // One step (-1): the whole database from one read snapshot.
        do {
            try reader.backup(to: writer)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            // GRDB words SQLITE_FULL from the backup API as "not an error"; say what happened.
            throw CocoaError(.fileWriteOutOfSpace, userInfo: [NSFilePathErrorKey: destination,
                                                               NSLocalizedDescriptionKey: "no space left on the device holding \(destination)"])
        }
        try writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = DELETE")
        }
        try writer.close()
        try reader.close()
    }

    /// The problems `PRAGMA integrity_check` finds in the database at `path`, opened
    /// read-only; empty when it is intact. A file SQLite cannot open is one problem.
    public static func integrityProblems(_ path: String) -> [String] {
        do {
            let queue = try readOnlyQueue(path)
            defer { try? queue.close() }
            let lines = try queue.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
            return lines == ["ok"] ? [] : lines
        } catch {
            return ["cannot be read as a database: \(error)"]
        }
    }

    static func readOnlyQueue(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "ares.backup.check"
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}
