import Foundation
import PostgresStorage

/// `manifest.json` of a PostgreSQL backup (`ares backup DEST --database URL`), in the style of
/// the data directory's `BackupManifest`: every file with its size and SHA-256, every event
/// stream's chain head, written last (a temporary name, then a rename), so a backup without it
/// is an incomplete one. `backend` tells the two kinds apart; `formatVersion` lets later
/// backups add fields, and a reader refuses a version newer than it knows.
///
/// Each table is one file, `tables/NAME.jsonl`: one JSON object per line, one line per row,
/// in primary-key order (see `PostgresTableSnapshot`).
public struct DatabaseBackupManifest: Codable, Sendable, Equatable {
    public static let backendName = "postgresql"
    public static let currentFormatVersion = 1
    public static let tablesFolder = "tables"
    /// The table whose rows are the hash-chained events, checked stream by stream.
    public static let eventsTable = "ares_events"
    /// The table of each stream's head, checked against the events.
    public static let streamsTable = "ares_event_streams"

    public struct Table: Codable, Sendable, Equatable {
        public var name: String
        /// Relative to the backup, `/`-separated: `tables/NAME.jsonl`.
        public var file: String
        public var columns: [String]
        public var omittedColumns: [String]
        public var orderedBy: [String]
        public var rows: Int
        public var size: Int64
        public var sha256: String

        var snapshotTable: PostgresTableSnapshot.Table {
            PostgresTableSnapshot.Table(name: name, columns: columns, omittedColumns: omittedColumns, orderedBy: orderedBy)
        }
    }

    public var formatVersion: Int
    public var backend: String
    public var aresVersion: String
    public var createdAt: Date
    /// The database copied, as `DatabaseSettings` describes it (never its password).
    public var source: String
    /// The schema version (applied migrations) of the copy: a restore migrates to it first.
    public var schemaVersion: Int
    public var serverVersion: String
    public var tables: [Table]
    public var sequences: [PostgresTableSnapshot.SequenceState]
    /// Every stream's head; `file` is the events table's file.
    public var chains: [BackupManifest.Chain]

    /// Whether the backup at `directory` is a PostgreSQL backup (its manifest says so). A
    /// missing or unreadable manifest is not, and is then reported by the data directory's checks.
    public static func isDatabaseBackup(_ directory: URL) -> Bool {
        struct BackendOnly: Decodable { var backend: String? }
        guard let data = try? Data(contentsOf: directory.appendingPathComponent(BackupManifest.fileName)),
              let found = try? JSONDecoder().decode(BackendOnly.self, from: data) else { return false }
        return found.backend == backendName
    }

    public static func read(backup directory: URL) throws -> DatabaseBackupManifest {
        let url = directory.appendingPathComponent(BackupManifest.fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { throw BackupError.noManifest(directory.path) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw BackupError.unreadable(url.path, error.localizedDescription) }
        struct Header: Decodable { var formatVersion: Int; var backend: String? }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let header = try? decoder.decode(Header.self, from: data) else {
            throw BackupError.unreadable(url.path, "not a backup manifest (no formatVersion)")
        }
        guard header.backend == backendName else {
            throw BackupError.unreadable(url.path, "not a PostgreSQL backup (it is a data directory's: restore it with --data-dir)")
        }
        guard (1...currentFormatVersion).contains(header.formatVersion) else {
            throw BackupError.newerFormat(found: header.formatVersion, supported: currentFormatVersion)
        }
        do {
            return try decoder.decode(DatabaseBackupManifest.self, from: data)
        } catch {
            throw BackupError.unreadable(url.path, "the manifest is not valid: \(error)")
        }
    }

    /// Writes the manifest under a temporary name, syncs it, renames it into place.
    func write(into directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(self)
        let temporary = directory.appendingPathComponent(BackupManifest.fileName + ".partial")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw BackupError.notWritable(directory.path, "cannot create \(temporary.lastPathComponent)")
        }
        let handle = try FileHandle(forWritingTo: temporary)
        try handle.write(contentsOf: data)
        try handle.synchronize()
        try handle.close()
        guard rename(temporary.path, directory.appendingPathComponent(BackupManifest.fileName).path) == 0 else {
            throw BackupError.notWritable(directory.path, "cannot rename the manifest into place: \(String(cString: strerror(errno)))")
        }
    }
}
