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

    /// Runs a prepared statement on a pooled connection and returns its rows, under the same
    /// deadline as `query`. Why: PostgreSQL parses and plans an unnamed statement at every
    /// call; a prepared one is parsed once per connection and, after a few calls, runs on a
    /// cached plan. For the statements every task sends (its appends, claim, release) that
    /// was about half of PostgreSQL's time per no-op task (issue 16).
    public func execute<Statement: PostgresPreparedStatement>(_ statement: Statement, logger: Logger? = nil,
                                                             file: String = #fileID, line: Int = #line) async throws
        -> [Statement.Row] where Statement.Row: Sendable {
        let client = database.client
        return try await database.withDeadline(database.settings.requestTimeout, doing: "a query", origin: "\(file):\(line)") {
            var rows: [Statement.Row] = []
            for try await row in try await client.execute(statement, logger: logger, file: file, line: line) { rows.append(row) }
            return rows
        }
    }

    /// What the server can answer only after the statement before it on the same connection
    /// has committed (`executeCommitted`, `queryCommitted`); prepared, as it follows every append.
    struct CommitBarrier: PostgresPreparedStatement {
        static let sql = "SELECT 1 AS committed"
        typealias Row = Int32
        func makeBindings() throws -> PostgresBindings { PostgresBindings() }
        func decodeRow(_ row: PostgresRow) throws -> Int32 { try row.decode(Int32.self) }
    }

    /// Runs a prepared statement that writes in its own (implicit) transaction, and returns its
    /// rows once that transaction has committed, on disk. Why not `execute`: PostgresNIO ends a
    /// statement's rows at CommandComplete, and PostgreSQL sends that before it commits an
    /// implicit transaction of the extended query protocol: the commit (with its WAL flush)
    /// follows at the Sync message after it. A write acknowledged on its rows alone could be
    /// lost to a crash in that moment, or its commit could fail after it was acknowledged. The
    /// server reads the next query on the connection only after that Sync, so one small query
    /// after the statement, on the same connection, returns only after the commit (and fails
    /// when the commit did). The cost is one round trip per write.
    public func executeCommitted<Statement: PostgresPreparedStatement>(_ statement: Statement, logger: Logger? = nil,
                                                                      file: String = #fileID, line: Int = #line) async throws
        -> [Statement.Row] where Statement.Row: Sendable {
        try await withConnection(file: file, line: line) { connection in
            let logger = logger ?? Self.silent
            var rows: [Statement.Row] = []
            for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
            try await Self.waitForCommit(on: connection, logger: logger)
            return rows
        }
    }

    /// `query` for a write, returning its rows once its transaction has committed (see `executeCommitted`).
    @discardableResult
    public func queryCommitted(_ query: PostgresQuery, logger: Logger? = nil, file: String = #fileID, line: Int = #line) async throws
        -> [PostgresRow] {
        try await withConnection(file: file, line: line) { connection in
            let logger = logger ?? Self.silent
            var rows: [PostgresRow] = []
            for try await row in try await connection.query(query, logger: logger) { rows.append(row) }
            try await Self.waitForCommit(on: connection, logger: logger)

            return rows
        }
    }

    private static func waitForCommit(on connection: PostgresConnection, logger: Logger) async throws {
        for try await _ in try await connection.execute(CommitBarrier(), logger: logger) {}
    }

    private static let silent = Logger(label: "ares.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

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
