import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// ares's PostgreSQL database: the connection pool (a `PostgresClient`, run as a `Service`),
/// the start-up check that waits for the database and says precisely why it cannot be used,
/// and the schema migrations applied at start.
///
/// ```swift
/// let database = PostgresDatabase(settings: settings, logger: logger)
/// // run `database` in a ServiceGroup (or a task group), then:
/// try await database.prepare()          // waits for the server, migrates under the advisory lock
/// let store = PostgresEventStore(database: database)
/// ```
public final class PostgresDatabase: Service, Sendable {
    public let settings: DatabaseSettings
    public let client: PostgresClient
    let logger: Logger

    public init(settings: DatabaseSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        client = PostgresClient(configuration: PostgresConnectionConfiguration.client(settings), backgroundLogger: logger)
    }

    /// Runs the pool until cancelled (or a graceful shutdown): queries wait for this to run.
    public func run() async throws {
        await client.run()
    }

    /// Waits until the database accepts a connection as the configured user (retrying an
    /// unreachable or starting server with backoff, up to `settings.startupTimeout`), then,
    /// with `migrate`, applies pending migrations. Returns the schema's status. Throws a
    /// `PostgresStorageError` naming the problem: a wrong password, a missing database or
    /// privilege, TLS, or a schema newer than this binary.
    @discardableResult
    public func prepare(migrate: Bool = true, migrator: PostgresMigrator? = nil) async throws -> PostgresMigrator.Status {
        try await waitUntilReachable()
        let migrator = try migrator ?? PostgresMigrator()
        do {
            if migrate { try await migrator.migrate(client: client, logger: logger) }
            let status = try await migrator.status(client: client, logger: logger)
            try PostgresMigrator.refuseNewer(status)
            return status
        } catch {
            throw PostgresStorageError.describing(error, settings: settings)
        }
    }

    /// One connection of its own (not the pool's: the pool retries a failing server quietly
    /// for a minute and then reports only that it gave up), so the error says why.
    public func waitUntilReachable() async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: settings.startupTimeout)
        var delay = Duration.milliseconds(100)
        var attempt = 1
        while true {
            do {
                let configuration = try PostgresConnectionConfiguration.connection(settings)
                let connection = try await PostgresConnection.connect(configuration: configuration, id: attempt, logger: logger)
                try await connection.query("SELECT 1", logger: logger)
                try? await connection.close()
                return
            } catch {
                let problem = PostgresStorageError.classify(error, settings: settings)
                guard problem.isRetryable, clock.now.advanced(by: delay) < deadline else {
                    if problem.isRetryable, attempt > 1 {
                        throw PostgresStorageError(problem.kind, problem.message + " (gave up after \(attempt) attempts)")
                    }
                    throw problem
                }
                logger.warning("database not reachable yet, retrying", metadata: ["attempt": "\(attempt)", "problem": "\(problem.message)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
                attempt += 1
            }
        }
    }

    /// Runs the pool for the duration of `body`, after `prepare(migrate:)` (with `prepare`
    /// false: only once the database is reachable, whatever its schema; what `ares db status`
    /// needs): for commands and tests that use the database once and stop.
    public static func withDatabase<Result: Sendable>(
        settings: DatabaseSettings, logger: Logger, prepare: Bool = true, migrate: Bool = true,
        _ body: (PostgresDatabase) async throws -> Result
    ) async throws -> Result {
        let database = PostgresDatabase(settings: settings, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { try await database.run() }
            do {
                if prepare {
                    try await database.prepare(migrate: migrate)
                } else {
                    try await database.waitUntilReachable()
                }
                let result = try await body(database)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }
}
