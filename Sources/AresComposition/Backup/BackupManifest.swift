import Foundation
import PostgresStorage
import Storage

/// `manifest.json` of a backup, whichever backend it copies: what was copied, from where, by
/// which ares, each copied file's size and SHA-256, and the chain head of every event stream at
/// the moment of the copy. It is written last (a temporary name, then a rename), so a backup
/// without it is an incomplete one.
///
/// Two kinds share the format: a data directory's (`ares backup DEST`: the files under `data/`)
/// and a PostgreSQL database's (`ares backup DEST --database URL`: one JSON Lines file per table
/// under `tables/`, see `PostgresTableSnapshot`, and the `database` part). On disk each kind
/// keeps the shape the previous release wrote (a data directory's has no `backend` key and names
/// its source `sourcePath`; a database's says `"backend": "postgresql"` and holds its tables at
/// the top level), so either release reads the other's backups.
///
/// `formatVersion` lets later backups add fields; a reader refuses a version newer than it knows.
public struct BackupManifest: Sendable, Equatable {
    public static let fileName = "manifest.json"
    /// Where a data directory backup's copied files sit, apart from the manifest.
    public static let dataFolder = "data"
    /// Where a database backup's table files sit.
    public static let tablesFolder = "tables"
    public static let currentFormatVersion = 1

    /// What a backup is a copy of.
    public enum Backend: Sendable, Equatable {
        case dataDirectory
        case postgresql

        /// The `backend` value in the manifest (a data directory's manifest has none).
        static let postgresqlName = "postgresql"
    }

    public enum FileKind: String, Codable, Sendable {
        /// Copied through SQLite's online backup API.
        case sqlite
        /// Copied byte for byte (the index snapshot, uploads).
        case file
    }

    /// A data directory backup's file.
    public struct File: Codable, Sendable, Equatable {
        /// Relative to the data directory, `/`-separated.
        public var path: String
        public var kind: FileKind
        public var size: Int64
        public var sha256: String
    }

    /// The head of one stream in one event store file (`tasks.sqlite`, `audit.sqlite`, or a
    /// database backup's events table file).
    public struct Chain: Codable, Sendable, Equatable {
        public var file: String
        public var stream: String
        public var version: Int64
        public var headHash: String
    }

    /// A database backup's table: its file (`tables/NAME.jsonl`, one JSON object per row, in
    /// `orderedBy` order) and what the restore needs to load it.
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

        /// The only file name ares writes for a table: a manifest naming another is refused.
        static func fileName(of table: String) -> String { "\(BackupManifest.tablesFolder)/\(table).jsonl" }

        var snapshotTable: PostgresTableSnapshot.Table {
            PostgresTableSnapshot.Table(name: name, columns: columns, omittedColumns: omittedColumns, orderedBy: orderedBy)
        }
    }

    /// What only a PostgreSQL backup has.
    public struct DatabaseContents: Sendable, Equatable {
        /// The table whose rows are the hash-chained events, checked stream by stream.
        public static let eventsTable = "ares_events"
        /// The table of each stream's head, checked against the events.
        public static let streamsTable = "ares_event_streams"

        /// The schema version (applied migrations) of the copy: a restore migrates to it first.
        public var schemaVersion: Int
        public var serverVersion: String
        public var tables: [Table]
        public var sequences: [PostgresTableSnapshot.SequenceState]
    }

    public var formatVersion: Int
    public var aresVersion: String
    public var createdAt: Date
    /// What was copied: the data directory's path, or the database as `DatabaseSettings`
    /// describes it (never its password).
    public var source: String
    /// A data directory backup's files (none in a database backup: its files are its tables).
    public var files: [File]
    /// Every stream's head.
    public var chains: [Chain]
    /// A database backup's tables, sequences and schema; nil in a data directory backup.
    public var database: DatabaseContents?

    /// Derived from `database`, so that a manifest cannot claim one backend and hold the other's parts.
    public var backend: Backend { database == nil ? .dataDirectory : .postgresql }

    /// A data directory backup's manifest.
    public init(formatVersion: Int, aresVersion: String, createdAt: Date, sourcePath: String, files: [File], chains: [Chain]) {
        self.formatVersion = formatVersion
        self.aresVersion = aresVersion
        self.createdAt = createdAt
        self.source = sourcePath
        self.files = files
        self.chains = chains
        self.database = nil
    }

    /// A database backup's manifest.
    public init(formatVersion: Int, aresVersion: String, createdAt: Date, source: String, database: DatabaseContents, chains: [Chain]) {
        self.formatVersion = formatVersion
        self.aresVersion = aresVersion
        self.createdAt = createdAt
        self.source = source
        self.files = []
        self.chains = chains
        self.database = database
    }

    /// Whether the backup at `directory` is a PostgreSQL backup (its manifest says so). A
    /// missing or unreadable manifest is not, and is then reported by the data directory's checks.
    public static func isDatabaseBackup(_ directory: URL) -> Bool {
        struct BackendOnly: Decodable { var backend: String? }
        guard let data = try? Data(contentsOf: directory.appendingPathComponent(fileName)),
              let found = try? JSONDecoder().decode(BackendOnly.self, from: data) else { return false }
        return found.backend == Backend.postgresqlName
    }

    /// Reads the manifest of the backup at `directory`, refusing one this ares cannot read.
    public static func read(backup directory: URL) throws -> BackupManifest {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw BackupError.noManifest(directory.path)
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw BackupError.unreadable(url.path, "\(error.localizedDescription)") }
        // The version first, so that a newer format is named as such rather than as a decoding error.
        struct VersionOnly: Decodable { var formatVersion: Int }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let version = try? decoder.decode(VersionOnly.self, from: data) else {
            throw BackupError.unreadable(url.path, "not a backup manifest (no formatVersion)")
        }
        guard version.formatVersion <= currentFormatVersion, version.formatVersion >= 1 else {
            throw BackupError.newerFormat(found: version.formatVersion, supported: currentFormatVersion)
        }
        do {
            return try decoder.decode(BackupManifest.self, from: data)
        } catch {
            throw BackupError.unreadable(url.path, "the manifest is not valid: \(error)")
        }
    }

    /// Writes the manifest into `directory` under a temporary name, syncs it, then renames it
    /// into place: a reader sees no manifest or a whole one.
    func write(into directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(self)
        let temporary = directory.appendingPathComponent(Self.fileName + ".partial")
        let final = directory.appendingPathComponent(Self.fileName)
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw BackupError.notWritable(directory.path, "cannot create \(temporary.lastPathComponent)")
        }
        let handle = try FileHandle(forWritingTo: temporary)
        try handle.write(contentsOf: data)
        try handle.synchronize()
        try handle.close()
        guard rename(temporary.path, final.path) == 0 else {
            throw BackupError.notWritable(directory.path, "cannot rename the manifest into place: \(String(cString: strerror(errno)))")
        }
    }

    /// Whether `path` (from a manifest: input) stays inside the backup: relative, no `..`.
    static func isSafeRelativePath(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), path.utf8.count <= 4096 else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != ".." && $0 != "." }
    }
}

extension BackupManifest: Codable {
    /// Every key either kind writes; which ones a manifest holds depends on its backend.
    private enum CodingKeys: String, CodingKey {
        case formatVersion, backend, aresVersion, createdAt, chains
        // A data directory's.
        case sourcePath, files
        // A database's.
        case source, schemaVersion, serverVersion, tables, sequences
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        formatVersion = try container.decode(Int.self, forKey: .formatVersion)
        aresVersion = try container.decode(String.self, forKey: .aresVersion)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        chains = try container.decode([Chain].self, forKey: .chains)
        switch try container.decodeIfPresent(String.self, forKey: .backend) {
        case nil:
            source = try container.decode(String.self, forKey: .sourcePath)
            files = try container.decode([File].self, forKey: .files)
            database = nil
        case Backend.postgresqlName?:
            source = try container.decode(String.self, forKey: .source)
            files = []
            database = DatabaseContents(
                schemaVersion: try container.decode(Int.self, forKey: .schemaVersion),
                serverVersion: try container.decode(String.self, forKey: .serverVersion),
                tables: try container.decode([Table].self, forKey: .tables),
                sequences: try container.decode([PostgresTableSnapshot.SequenceState].self, forKey: .sequences))
        case let other?:
            throw DecodingError.dataCorruptedError(forKey: .backend, in: container,
                                                   debugDescription: "unknown backend '\(other.prefix(40))' (this ares knows a data directory's and '\(Backend.postgresqlName)')")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(formatVersion, forKey: .formatVersion)
        try container.encode(aresVersion, forKey: .aresVersion)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(chains, forKey: .chains)
        if let database {
            try container.encode(Backend.postgresqlName, forKey: .backend)
            try container.encode(source, forKey: .source)
            try container.encode(database.schemaVersion, forKey: .schemaVersion)
            try container.encode(database.serverVersion, forKey: .serverVersion)
            try container.encode(database.tables, forKey: .tables)
            try container.encode(database.sequences, forKey: .sequences)
        } else {
            try container.encode(source, forKey: .sourcePath)
            try container.encode(files, forKey: .files)
        }
    }
}
