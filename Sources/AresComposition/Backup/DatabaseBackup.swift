import Foundation
import Logging
import PostgresStorage
import Storage

/// `ares backup DEST --database URL`: a consistent copy of ares's tables in a PostgreSQL
/// database, safe while replicas serve (one read-only snapshot, see `PostgresTableSnapshot`),
/// written as one JSON Lines file per table and a manifest (`BackupManifest`, its `database` part) with
/// each file's SHA-256 and every stream's chain head. `ares verify --backup DEST` checks it
/// without a database; `ares restore DEST --database URL2` loads it into an empty one.
///
/// Why not pg_dump: its output can be checked only by restoring it, it must be at least the
/// server's version, and it is not in ares's container image; this copy is checked offline
/// (chains recomputed from the rows) and restored by ares's own migrations and one transaction.
/// For whole-cluster recovery to any moment, PostgreSQL's own tools are the answer (WAL
/// archiving and `pg_basebackup`, docs/operations.md).
public enum DatabaseBackup {
    public struct Summary: Sendable {
        public var tables: Int
        public var rows: Int
        public var bytes: Int64
        public var streams: Int
        public var schemaVersion: Int
        public var seconds: Double
        /// Chain breaks found in the copy: the database was already damaged.
        public var warnings: [String]
    }

    public static func backup(settings: DatabaseSettings, logger: Logger, to destination: URL, aresVersion: String,
                              progress: (String) -> Void) async throws -> Summary {
        let clock = ContinuousClock()
        let started = clock.now
        try DataDirectoryBackup.prepareEmptyDirectory(destination)
        let tablesRoot = destination.appendingPathComponent(BackupManifest.tablesFolder)
        do {
            try DataDirectoryBackup.makePrivateDirectory(tablesRoot)
            progress("reading the tables of \(settings) in one snapshot")
            let createdAt = Date()
            var sink = TableFileSink(root: tablesRoot)
            // Waits for the database, and refuses a schema newer than this ares (its rows could hold what it cannot check).
            try await PostgresDatabase.withDatabase(settings: settings, logger: logger, migrate: false) { _ in }
            let snapshot = try await PostgresTableSnapshot.take(settings: settings, logger: logger, into: &sink)
            var tables: [BackupManifest.Table] = []
            var chains: [BackupManifest.Chain] = []
            var warnings: [String] = []
            for table in snapshot.tables {
                let file = BackupManifest.Table.fileName(of: table.name)
                let digest = try FileSHA256.digest(destination.appendingPathComponent(file).path)
                tables.append(.init(name: table.name, file: file, columns: table.columns, omittedColumns: table.omittedColumns,
                                    orderedBy: table.orderedBy, rows: sink.rows[table.name] ?? 0, size: digest.size, sha256: digest.hex))
                if table.name == BackupManifest.DatabaseContents.eventsTable {
                    let inspection = try TableFileInspection.inspectChains(destination.appendingPathComponent(file).path)
                    chains = inspection.heads.sorted { $0.key < $1.key }.map { .init(file: file, stream: $0.key, version: $0.value.version, headHash: $0.value.hash) }
                    warnings += inspection.breaks.map { "\(file): \($0) (already so in the database)" }
                }
            }
            let manifest = BackupManifest(
                formatVersion: BackupManifest.currentFormatVersion, aresVersion: aresVersion, createdAt: createdAt, source: "\(settings)",
                database: .init(schemaVersion: snapshot.schemaVersion, serverVersion: snapshot.serverVersion, tables: tables, sequences: snapshot.sequences),
                chains: chains)
            try manifest.write(into: destination)
            let elapsed = clock.now - started
            return Summary(tables: tables.count, rows: tables.reduce(0) { $0 &+ $1.rows }, bytes: tables.reduce(0) { $0 &+ $1.size },
                           streams: chains.count, schemaVersion: snapshot.schemaVersion,
                           seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, warnings: warnings)
        } catch {
            // Leave nothing that could pass for a backup (and give a full disk its space back).
            try? FileManager.default.removeItem(at: tablesRoot)
            try? FileManager.default.removeItem(at: destination.appendingPathComponent(BackupManifest.fileName + ".partial"))
            throw error
        }
    }

    /// Writes each table's rows into `tables/NAME.jsonl` (0600), buffered, synced at its end.
    struct TableFileSink: PostgresTableSnapshot.Sink {
        let root: URL
        var rows: [String: Int] = [:]
        private var handle: FileHandle?
        private var buffer = Data()
        private var count = 0

        init(root: URL) { self.root = root }

        mutating func begin(_ table: PostgresTableSnapshot.Table) throws {
            guard PostgresTableSnapshot.isPlainIdentifier(table.name) else {
                throw BackupError.copyFailed(file: table.name, reason: "not a table name ares writes")
            }
            let path = root.appendingPathComponent("\(table.name).jsonl").path
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
                  let opened = FileHandle(forWritingAtPath: path) else {
                throw BackupError.notWritable(path, "cannot create the file")
            }
            handle = opened
            count = 0
        }

        mutating func write(row: String) throws {
            buffer.append(contentsOf: row.utf8)
            buffer.append(0x0A)
            count += 1
            if buffer.count >= 1 << 20 { try flush() }
        }

        mutating func end(_ table: PostgresTableSnapshot.Table) throws {
            try flush()
            try handle?.synchronize()
            try handle?.close()
            handle = nil
            rows[table.name] = count
        }

        private mutating func flush() throws {
            guard !buffer.isEmpty else { return }
            do {
                try handle?.write(contentsOf: buffer)
            } catch {
                throw BackupError.copyFailed(file: root.lastPathComponent, reason: DataDirectoryBackup.describe(error))
            }
            buffer.removeAll(keepingCapacity: true)
        }
    }
}
