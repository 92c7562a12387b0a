import Logging
import PostgresNIO

/// Asks the database `SELECT 1` over a connection of its own, opened for the ping and closed
/// after it, for health checks. Not the pool's: a pool whose server is gone holds queries
/// until it gives up on connecting (about a minute), so a ping through it would say nothing
/// for that long; a connection of its own fails as soon as the server refuses or closes it.
/// A fresh connection each time means no ping inherits the state of a connection the server
/// dropped.
public struct PostgresDatabasePinger: Sendable {
    private let database: PostgresDatabase

    public init(database: PostgresDatabase) {
        self.database = database
    }

    /// Nil when the database answered; else the problem, in one line.
    public func ping(id: Int) async -> String? {
        do {
            let connection = try await PostgresConnection.connect(configuration: try PostgresConnectionConfiguration.connection(database.settings),
                                                                  id: id, logger: database.logger)
            do {
                try await connection.query("SELECT 1", logger: database.logger)
            } catch {
                try? await connection.close()
                throw error
            }
            try? await connection.close()
            return nil
        } catch {
            return PostgresStorageError.classify(error, settings: database.settings).message
        }
    }
}
