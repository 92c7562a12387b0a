import Logging
import PostgresNIO

/// BEGIN, the body, COMMIT; ROLLBACK if the body throws, and the body's own error rethrown
/// (PostgresNIO's `withTransaction` wraps every error in one type, which would hide a version
/// conflict or a server's SQLSTATE from the code that maps errors to messages).
enum PostgresTransaction {
    static func run<Result>(on connection: PostgresConnection, logger: Logger,
                            _ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await connection.query("BEGIN", logger: logger)
        let result: Result
        do {
            result = try await body(connection)
        } catch {
            do {
                try await connection.query("ROLLBACK", logger: logger)
            } catch {
                // The connection is in an unknown state: close it, so the pool does not lend it again.
                try? await connection.close()
            }
            throw error
        }
        try await connection.query("COMMIT", logger: logger)
        return result
    }
}
