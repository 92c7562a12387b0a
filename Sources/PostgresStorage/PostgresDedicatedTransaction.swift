import Logging
import PostgresNIO

/// One transaction on a connection of its own, for the copies that hold it for minutes (a
/// backup's snapshot, a restore's load): a pooled connection should not be held that long, and
/// the transaction must see every statement on the same connection. Shared by
/// `PostgresTableSnapshot` and `PostgresTableRestore`, so both connect, end and report errors
/// the same way.
enum PostgresDedicatedTransaction {
    /// How the transaction ends when `body` returns: a load commits; a read-only snapshot has
    /// nothing to keep and rolls back.
    enum Ending: String {
        case commit = "COMMIT"
        case rollback = "ROLLBACK"
    }

    /// Connects, runs `begin`, then `body`, then `ending`. When anything fails the connection
    /// is closed, which rolls the transaction back (nothing of a failed load stays), and
    /// PostgresNIO's errors become ones that name the problem for a person.
    static func run<Result>(settings: DatabaseSettings, logger: Logger, begin: PostgresQuery, ending: Ending,
                            _ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try PostgresConnectionConfiguration.connection(settings), id: 1, logger: logger)
        } catch {
            throw PostgresStorageError.describing(error, settings: settings)
        }
        do {
            try await connection.query(begin, logger: logger)
            let result = try await body(connection)
            try await connection.query(PostgresQuery(unsafeSQL: ending.rawValue), logger: logger)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            if error is PostgresStorageError { throw error }
            if error is PSQLError || error is PostgresDecodingError { throw PostgresStorageError.describing(error, settings: settings) }
            throw error
        }
    }
}
