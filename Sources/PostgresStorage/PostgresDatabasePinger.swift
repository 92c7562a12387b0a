import Logging
import PostgresNIO
import Synchronization

/// Health checks: asks the database `SELECT 1` twice at once, through the pool the requests
/// use and over a connection of its own (opened for the ping and closed after it), each
/// within the request deadline. Either failing is a problem.
///
/// Why both: the pool is what requests need, and PostgresNIO's pool can stall after a
/// failover with no connection open while the server answers (issue 16: readiness said OK
/// because it only pinged directly); a direct connection says whether the server itself
/// answers, and tells a stalled pool (replaced, `PostgresDatabase.recordPoolProbe`) from a
/// database that is away. A fresh connection each time means no ping inherits the state of
/// a connection the server dropped.
public struct PostgresDatabasePinger: Sendable {
    private let database: PostgresDatabase

    public init(database: PostgresDatabase) {
        self.database = database
    }

    /// What one ping found.
    public struct Outcome: Sendable, Equatable {
        /// Nil when the database answered both ways; else the problem, in one line.
        public var problem: String?
        /// How full PostgreSQL's notification queue is, 0 to 1 (`pg_notification_queue_usage()`),
        /// as the pool's connection read it; nil when it did not answer.
        public var notificationQueueUsage: Double?
    }

    /// Nil when the database answered both ways; else the problem, in one line.
    public func ping(id: Int) async -> String? {
        await check(id: id).problem
    }

    /// The ping, with what the pool's query read on the way: the notification queue's usage.
    ///
    /// Why that is watched: a session that LISTENs and stops reading (a stopped replica, a
    /// client idle in a transaction) keeps PostgreSQL from freeing the queue, and once it is
    /// full every commit that notifies fails — at commit, after an autocommit statement's rows
    /// came back, which PostgresNIO reports as success (BENCHMARKS.md, "what waiting for the
    /// commit costs"). Refusing writes well before that keeps every acknowledgment true.
    public func check(id: Int) async -> Outcome {
        async let direct = pingDirectly(id: id)
        async let pool = pingThroughPool()
        let (directProblem, (poolProblem, usage)) = await (direct, pool)
        database.recordPoolProbe(pool: poolProblem == nil, direct: directProblem == nil)
        if let directProblem { return Outcome(problem: directProblem, notificationQueueUsage: usage) }
        return Outcome(problem: poolProblem.map { "the connection pool does not answer (the server does): \($0)" }, notificationQueueUsage: usage)
    }

    /// Through both pools: the general one, and the one of the prepared statements every task sends.
    private func pingThroughPool() async -> (problem: String?, notificationQueueUsage: Double?) {
        do {
            var usage: Double?
            for try await value in try await database.pool.query("SELECT pg_notification_queue_usage()", logger: database.logger)
                .decode(Double.self) {
                usage = value
            }
            try await database.pool.probePreparedStatementPool()
            return (nil, usage)
        } catch {
            return (PostgresStorageError.classify(error, settings: database.settings).message, nil)
        }
    }

    /// Connecting can be cancelled; a query on a connection whose server went silent cannot,
    /// so the deadline closes the connection, which fails the query.
    private func pingDirectly(id: Int) async -> String? {
        let database = database
        let opened = DirectConnection()
        let timeout = database.settings.requestTimeout
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let connection = try await PostgresConnection.connect(
                        configuration: try PostgresConnectionConfiguration.connection(database.settings), id: id, logger: database.logger)
                    let expired = opened.state.withLock { state in
                        guard case .expired = state else {
                            state = .open(connection)
                            return false
                        }
                        return true
                    }
                    // Closed (and the close awaited) on every path: PostgresNIO checks in a
                    // connection's deinit that it was closed.
                    if expired {
                        try? await connection.close()
                        throw CancellationError()
                    }
                    do {
                        try await connection.query("SELECT 1", logger: database.logger)
                    } catch {
                        try? await connection.close()
                        throw error
                    }
                    try? await connection.close()
                }
                group.addTask {
                    // Cancelled too (a shutdown): the ping's query may be stuck on a silent
                    // connection, which only closing it ends; else the shutdown would wait for it.
                    let cancelled = (try? await Task.sleep(for: timeout)) == nil
                    let connection: PostgresConnection? = opened.state.withLock { state in
                        defer { state = .expired }
                        if case let .open(connection) = state { return connection }
                        return nil
                    }
                    connection?.close().whenComplete { _ in }
                    if cancelled { throw CancellationError() }
                    throw PostgresStorageError(.unreachable, """
                        the database at \(database.settings.host):\(database.settings.port) did not answer a connection of its own \
                        within \(timeout.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow)))
                        """)
                }
                try await group.next()
                group.cancelAll()
            }
            return nil
        } catch {
            return PostgresStorageError.classify(error, settings: database.settings).message
        }
    }
}

/// A direct ping's connection, so that its deadline closes a connection opened just before
/// it passed (under the lock: one of them sees the other).
private final class DirectConnection: Sendable {
    enum State {
        case connecting
        case open(PostgresConnection)
        case expired
    }

    let state = Mutex(State.connecting)
}
