import ArgumentParser
import Foundation
import Logging
import PostgresStorage
import Storage

/// What the PostgreSQL-against-SQLite benchmarks (`eventstore-postgres`, `queue-postgres`) set
/// up alike: the database from `--database` or `$ARES_DATABASE_URL` with a pool of
/// `--connections`, a quiet logger, and the SQLite side's scratch event store. One copy, so the
/// two compare the backends under the same settings.
struct PostgresBenchmarkSetup: ParsableArguments {
    @Option(help: "The PostgreSQL database URL (default: $ARES_DATABASE_URL). Use a scratch database: the benchmark writes into its tables (queue-postgres empties its queue table).")
    var database: String?

    @Option(help: "PostgreSQL connections in the pool.")
    var connections = 20

    func validate() throws {
        guard (1...500).contains(connections) else { throw ValidationError("--connections must be from 1 to 500") }
    }

    /// The database's settings with the pool size; its password from $ARES_DATABASE_PASSWORD_FILE.
    func settings() throws -> DatabaseSettings {
        let environment = ProcessInfo.processInfo.environment
        guard let url = database ?? environment[DatabaseSettings.urlVariable] else {
            throw ValidationError("no database: pass --database or set \(DatabaseSettings.urlVariable)")
        }
        var settings = try DatabaseSettings(url: url, environment: environment)
        settings.maximumConnections = connections
        return settings
    }

    /// Warnings and errors only: a benchmark's output is its measurements.
    static func logger(label: String) -> Logger {
        var logger = Logger(label: label, factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        return logger
    }

    /// The SQLite event store the PostgreSQL one is compared with, in `directory` (emptied first).
    static func scratchSQLiteStore(in directory: String) throws -> (store: SQLiteEventStore, folder: URL) {
        let folder = URL(fileURLWithPath: directory)
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return (try SQLiteEventStore(path: folder.appendingPathComponent("events.sqlite").path), folder)
    }
}
