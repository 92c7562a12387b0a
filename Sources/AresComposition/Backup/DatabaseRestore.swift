import Foundation
import Logging
import PostgresStorage
import Storage

/// `ares restore SRC --database URL`: checks a PostgreSQL backup first (a damaged one is
/// refused), then loads it into a database that holds no ares data: the schema is migrated to
/// the backup's version, the rows are loaded in one transaction (`PostgresTableRestore`),
/// later migrations are applied, and the restored chains are verified in the database against
/// the heads the manifest recorded.
public enum DatabaseRestore {
    public struct Summary: Sendable {
        public var tables: Int
        public var rows: Int
        public var streams: Int
        public var events: Int
        public var schemaVersion: Int
        /// From the start of the check to the verified database.
        public var seconds: Double
    }

    /// Rows per INSERT: large enough that a round trip carries real work, small enough that one
    /// statement's JSON stays a few megabytes.
    static let batchRows = 500
    static let batchBytes = 4 << 20

    public static func restore(backup source: URL, settings: DatabaseSettings, logger: Logger,
                               progress: (String) -> Void) async throws -> Summary {
        let clock = ContinuousClock()
        let started = clock.now
        progress("checking the backup")
        let verification = try BackupVerification.check(backup: source)
        guard let contents = verification.manifest.database else {
            throw BackupError.unreadable(source.path, "not a PostgreSQL backup (it is a data directory's: restore it with --data-dir)")
        }
        guard verification.isIntact else { throw BackupError.damaged(verification.problems) }
        let all = try PostgresMigrator()
        guard contents.schemaVersion <= all.knownVersion else {
            throw BackupError.unreadable(source.path, "the backup's schema is at version \(contents.schemaVersion), this ares knows up to \(all.knownVersion): restore it with a newer ares")
        }
        let result = try await PostgresDatabase.withDatabase(settings: settings, logger: logger, prepare: false) { database in
            let status = try await all.status(client: database.client, logger: logger)
            guard status.version <= contents.schemaVersion else {
                throw PostgresStorageError(.server, "the database's schema is at version \(status.version), the backup's at \(contents.schemaVersion): "
                                           + "restore into a new, empty database (CREATE DATABASE ...)")
            }
            progress("preparing the schema at version \(contents.schemaVersion)")
            do {
                try await PostgresMigrator(migrations: Array(PostgresMigrations.all.prefix(contents.schemaVersion)))
                    .migrate(client: database.client, logger: logger)
            } catch {
                throw PostgresStorageError.describing(error, settings: settings)
            }
            progress("loading \(contents.tables.count) tables (\(verification.rows) rows) in one transaction")
            let loaded: PostgresTableRestore.Summary
            do {
                loaded = try await PostgresTableRestore.restore(
                    settings: settings, logger: logger, tables: contents.tables.map(\.snapshotTable), sequences: contents.sequences
                ) { table in
                    try TableFileBatches(path: source.appendingPathComponent(BackupManifest.Table.fileName(of: table.name)).path)
                }
            } catch let error as PostgresStorageError {
                throw error
            } catch let error as BackupError {
                throw error
            } catch {
                throw PostgresStorageError.describing(error, settings: settings)
            }
            if contents.schemaVersion < all.knownVersion {
                progress("applying the migrations after version \(contents.schemaVersion)")
                try await database.prepare(migrate: true)
            }
            progress("verifying every chain in the database")
            let chains = try await PostgresEventStore(database: database).verify()
            let heads = try await PostgresEventStore(database: database).streams()
            return (loaded, chains, heads)
        }
        let (loaded, chains, heads) = result
        var problems = chains.breaks.map { "chain break: \($0)" }
        let restoredHeads = Dictionary(heads.map { ($0.stream, $0.version) }, uniquingKeysWith: { first, _ in first })
        for chain in verification.manifest.chains where restoredHeads[chain.stream] != chain.version {
            problems.append("stream \(chain.stream): restored at version \(restoredHeads[chain.stream] ?? 0), the backup records \(chain.version)")
        }
        guard problems.isEmpty else { throw BackupError.damaged(problems) }
        let elapsed = clock.now - started
        return Summary(tables: loaded.tables, rows: loaded.rows, streams: chains.streams, events: chains.events, schemaVersion: contents.schemaVersion,
                       seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// A table file read as JSON arrays of up to `batchRows` rows (or `batchBytes`).
    struct TableFileBatches: PostgresTableRestore.RowSource {
        let reader: JSONLinesReader

        init(path: String) throws { reader = try JSONLinesReader(path: path) }

        mutating func nextBatch() throws -> String? {
            var batch = Data("[".utf8)
            var rows = 0
            while rows < DatabaseRestore.batchRows, batch.count < DatabaseRestore.batchBytes, let line = try reader.nextLine() {
                if rows > 0 { batch.append(UInt8(ascii: ",")) }
                batch.append(line)
                rows += 1
            }
            guard rows > 0 else { return nil }
            batch.append(UInt8(ascii: "]"))
            return String(decoding: batch, as: UTF8.self)
        }
    }
}
