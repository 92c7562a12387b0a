import Logging
import PostgresNIO
import Synchronization

/// The stores' way to the database's current connection pool, with a deadline on every
/// operation: a query (leasing a connection, sending it, its first answer) or a leased
/// connection's whole use. PostgresNIO 1.33.2's pool has no lease timeout: after a failover
/// it can sit with no connection open and every lease waiting forever (issue 16), and a
/// query on a connection whose server went silent is not cancellable. So each operation runs
/// as a child task of `PostgresDatabase.run()` while the caller waits only until its
/// deadline: then the caller gets a retryable `PostgresStorageError` (HTTP 503 / -32050, and
/// running tasks pause) and the operation is cancelled (a waiting lease is withdrawn from the
/// pool, so it cannot run later); an operation stuck on a silent connection ends when that
/// connection fails or its pool is retired (`PostgresDatabase.replaceClient`).
///
/// Looks the client up at every call, so a replaced pool is used from the next operation on.
public struct PostgresDatabasePool: Sendable {
    let database: PostgresDatabase
    /// A whole leased connection's use may take this much longer than the database's request
    /// deadline: transactions and bulk writes (an ingest, an import) run several statements.
    static let connectionUseFactor = 12

    /// Runs `query` on a pooled connection; throws a retryable error when no answer came
    /// within the database's request deadline.
    @discardableResult
    public func query(_ query: PostgresQuery, logger: Logger? = nil, file: String = #fileID, line: Int = #line) async throws
        -> PostgresRowSequence {
        let client = database.client
        return try await database.withDeadline(database.settings.requestTimeout, doing: "a query", origin: "\(file):\(line)") {
            try await client.query(query, logger: logger, file: file, line: line)
        }
    }

    /// Runs a prepared statement on the prepared-statement pool (`PostgresDatabase.preparedClient`)
    /// and returns its rows, under the same deadline as `query`. Why: PostgreSQL parses and
    /// plans an unnamed statement at every call; a prepared one there is parsed and planned once
    /// per connection. For the statements every task sends (its appends, claim, release),
    /// parsing and planning were more of PostgreSQL's time per no-op task than running them
    /// (issue 16). Only for statements whose every plan is key lookups or index-ordered scans:
    /// that pool's plans are made once, whatever the arguments.
    public func execute<Statement: PostgresPreparedStatement>(_ statement: Statement, logger: Logger? = nil,
                                                             file: String = #fileID, line: Int = #line) async throws
        -> [Statement.Row] where Statement.Row: Sendable {
        let client = database.preparedClient
        return try await database.withDeadline(database.settings.requestTimeout, doing: "a query", origin: "\(file):\(line)") {
            var rows: [Statement.Row] = []
            for try await row in try await client.execute(statement, logger: logger, file: file, line: line) { rows.append(row) }
            return rows
        }
    }

    /// A trivial query through the prepared-statement pool, under the request deadline: the
    /// readiness probe checks that pool as well as the general one (either can stall).
    public func probePreparedStatementPool() async throws {
        let client = database.preparedClient
        try await database.withDeadline(database.settings.requestTimeout, doing: "a probe", origin: "prepared-statement pool") {
            for try await _ in try await client.query("SELECT 1") {}
        }
    }

    /// Leases a connection for `body`: waiting for the lease is bounded by the request deadline
    /// and the whole use by `connectionUseFactor` times it.
    public func withConnection<Result: Sendable>(file: String = #fileID, line: Int = #line,
                                                 _ body: @escaping @Sendable (PostgresConnection) async throws -> Result)
        async throws -> Result {
        let client = database.client
        let leased = LeaseFlag()
        let requestTimeout = database.settings.requestTimeout
        let useTimeout = requestTimeout * Self.connectionUseFactor
        return try await database.withDeadline(useTimeout, doing: "a leased connection's work", origin: "\(file):\(line)",
                                               leaseDeadline: (requestTimeout, leased)) {
            try await client.withConnection { connection in
                leased.set()
                return try await body(connection)
            }
        }
    }
}

/// Set once the pool handed out a connection: the lease deadline no longer applies.
final class LeaseFlag: Sendable {
    private let value = Atomic(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
