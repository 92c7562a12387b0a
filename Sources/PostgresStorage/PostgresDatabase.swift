import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

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
    let logger: Logger
    /// The pool in use now, and how to retire it (see `replaceClient`).
    private let current: Mutex<CurrentClient>
    /// What `run()` starts as its child tasks: pools to run, and operations under a deadline
    /// (`PostgresDatabasePool`), which must not be children of their caller (see there).
    private let work: (stream: AsyncStream<Work>, continuation: AsyncStream<Work>.Continuation)

    struct CurrentClient: Sendable {
        var client: PostgresClient
        var preparedClient: PostgresClient
        /// Retires both pools.
        var retire: AsyncStream<Void>.Continuation
        var replacements = 0
        /// Since when the pool has not answered a probe while a connection of its own did.
        var poolStalledSince: ContinuousClock.Instant?
    }

    enum Work: Sendable {
        /// An operation under a deadline, and what it is (for the log, should a shutdown abandon it).
        case job(String, @Sendable () async -> Void)
        case clients([PostgresClient], retired: AsyncStream<Void>)
    }

    public init(settings: DatabaseSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        work = AsyncStream<Work>.makeStream()
        let (client, preparedClient) = Self.makeClients(settings, logger: logger)
        let (retired, retire) = AsyncStream<Void>.makeStream()
        current = Mutex(CurrentClient(client: client, preparedClient: preparedClient, retire: retire))
        work.continuation.yield(.clients([client, preparedClient], retired: retired))
    }

    /// The general pool and the prepared-statement pool (`preparedClient`), which share the
    /// connection limit (`PostgresConnectionConfiguration.connectionLimits`).
    private static func makeClients(_ settings: DatabaseSettings, logger: Logger) -> (PostgresClient, PostgresClient) {
        (PostgresClient(configuration: PostgresConnectionConfiguration.client(settings), backgroundLogger: logger),
         PostgresClient(configuration: PostgresConnectionConfiguration.client(settings, forPreparedStatements: true),
                        backgroundLogger: logger))
    }

    /// The connection pool in use now. Code that keeps using the database should go through
    /// `pool` (deadlines, and a replaced pool is used from the next operation on); this is
    /// for one-off commands (`ares db`, migrations).
    public var client: PostgresClient { current.withLock { $0.client } }

    /// The pool of the prepared statements every task sends (`PostgresDatabasePool.execute`),
    /// whose connections plan each of them once (`PostgresConnectionConfiguration.preparedStatementStartupParameters`).
    public var preparedClient: PostgresClient { current.withLock { $0.preparedClient } }

    /// The current pool, with a deadline on every operation: what the stores use.
    public var pool: PostgresDatabasePool { PostgresDatabasePool(database: self) }

    /// How many times a stalled pool was replaced since start.
    public var poolReplacements: Int { current.withLock { $0.replacements } }

    /// Runs the pools and the operations under deadlines until cancelled (or a graceful
    /// shutdown): queries wait for this to run.
    ///
    /// Stopping is bounded: cancelling a pool closes its connections, which fails the queries
    /// on them, but PostgresNIO 1.33.2 has calls that ignore cancellation and may never return
    /// (a query on a silent connection; after a PostgreSQL restart, an operation that outlived
    /// its closed pool: issue 16, where a replica logged "stopped" and never exited). So the
    /// pools and operations run in a task of their own (`AbandonableTask`), and a shutdown
    /// waits for them at most `shutdownTimeout`; then it logs what it abandons and returns, and
    /// the process exits. Nothing is lost: an operation's caller was already answered (by the
    /// operation or its deadline), and whatever was acknowledged is committed in the database.
    public func run() async throws {
        let work = work
        let outstanding = OutstandingWork()
        let worker = AbandonableTask {
            await withDiscardingTaskGroup { group in
                for await item in work.stream {
                    switch item {
                    case let .job(name, job):
                        let id = outstanding.begin(name)
                        group.addTask {
                            await job()
                            outstanding.end(id)
                        }
                    case let .clients(clients, retired):
                        let id = outstanding.begin("the connection pools")
                        group.addTask {
                            await Self.run(clients, until: retired)
                            outstanding.end(id)
                        }
                    }
                }
                // Cancelled (the stream ends for a cancelled consumer): stop every pool, which
                // fails whatever still waits on one of their connections.
                group.cancelAll()
            }
        }
        await cancelWhenGracefulShutdown { await worker.wait() }
        let limit = shutdownTimeout
        guard await worker.cancel(waitingAtMost: limit) else {
            logger.warning("""
                shutdown: the database did not answer within \(limit.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow))); \
                abandoning what still waits on it (its callers were answered; what was acknowledged is committed)
                """, metadata: ["database": "\(settings.host):\(settings.port)", "abandoned": "\(outstanding.names.joined(separator: "; "))"])
            return
        }
    }

    /// How long a shutdown waits for the pools to close and the operations under way to end:
    /// the request deadline, which any operation already waited out (closing a connection is
    /// local and at once); only calls that ignore cancellation take longer.
    public var shutdownTimeout: Duration { settings.requestTimeout }

    /// Runs `clients` until they are retired (or the database stops). Cancelling a pool's run
    /// closes its connections and fails its waiting leases.
    private static func run(_ clients: [PostgresClient], until retired: AsyncStream<Void>) async {
        await withDiscardingTaskGroup { group in
            for client in clients { group.addTask { await client.run() } }
            for await _ in retired {}
            group.cancelAll()
        }
    }

    /// Starts `job` as a child task of `run()`'s worker (`.terminated` once the database stopped).
    func submit(_ job: @escaping @Sendable () async -> Void, named name: String) -> AsyncStream<Work>.Continuation.YieldResult {
        work.continuation.yield(.job(name, job))
    }

    /// Builds new pools (the general and the prepared-statement pool), runs them, and retires
    /// the current ones (their run is cancelled; nothing waits for it): for a pool judged
    /// stalled (`recordPoolProbe`). Operations already under way on the old pools fail
    /// (retryable); the next ones use the new pools.
    public func replaceClient(reason: String) {
        let (client, preparedClient) = Self.makeClients(settings, logger: logger)
        let (retired, retire) = AsyncStream<Void>.makeStream()
        let (old, count) = current.withLock { state in
            let old = state.retire
            state.client = client
            state.preparedClient = preparedClient
            state.retire = retire
            state.replacements += 1
            state.poolStalledSince = nil
            return (old, state.replacements)
        }
        work.continuation.yield(.clients([client, preparedClient], retired: retired))
        old.finish()
        logger.warning("database connection pool replaced", metadata: ["reason": .string(reason), "replacements": "\(count)"])
    }

    /// A readiness probe's outcome: `pool` whether a trivial query through the pool answered
    /// within the request deadline, `direct` whether a connection of its own to the same
    /// address did. A pool that keeps failing while the server answers directly for
    /// `stallTolerance` is stalled (PostgresNIO's pool can stay so after a failover) and is
    /// replaced. Returns whether it was.
    @discardableResult
    public func recordPoolProbe(pool: Bool, direct: Bool, now: ContinuousClock.Instant = .now) -> Bool {
        let stalledFor: Duration? = current.withLock { state in
            guard !pool, direct else {
                state.poolStalledSince = nil
                return nil
            }
            let since = state.poolStalledSince ?? now
            state.poolStalledSince = since
            return now - since
        }
        guard let stalledFor, stalledFor >= stallTolerance else { return false }
        replaceClient(reason: "the pool has not answered for \(stalledFor.formatted(.units(allowed: [.seconds], width: .narrow))) while the database answers a connection of its own")
        return true
    }

    /// How long the pool may fail probes that a direct connection passes before it is
    /// replaced: twice the request deadline (a pool that is merely busy gets time to catch up).
    public var stallTolerance: Duration { settings.requestTimeout * 2 }

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
                try await checkDirectConnection(id: attempt)
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

    /// Connects on its own and asks `SELECT 1`, within the request deadline. Connecting can be
    /// cancelled; a query on a connection whose server went silent cannot, so the deadline, or
    /// a cancellation (a shutdown), closes the connection, which fails the query.
    private func checkDirectConnection(id: Int) async throws {
        let configuration = try PostgresConnectionConfiguration.connection(settings)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
        let (timeout, logger, address) = (settings.requestTimeout, logger, "\(settings.host):\(settings.port)")
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await connection.query("SELECT 1", logger: logger) }
                group.addTask {
                    let cancelled = (try? await Task.sleep(for: timeout)) == nil
                    // Also after the answer (the first child won): closed below anyway.
                    connection.close().whenComplete { _ in }
                    if cancelled { throw CancellationError() }
                    throw PostgresStorageError(.unreachable, """
                        the database at \(address) did not answer a connection of its own within \
                        \(timeout.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow)))
                        """)
                }
                try await group.next()
                group.cancelAll()
            }
        } catch {
            // PostgresNIO checks in a connection's deinit that it was closed: awaited on every path.
            try? await connection.close()
            throw error
        }
        try? await connection.close()
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

/// What `PostgresDatabase.run()` is still running, for the line a bounded shutdown logs.
private final class OutstandingWork: Sendable {
    private let state = Mutex((next: UInt64(0), running: [UInt64: String]()))

    func begin(_ name: String) -> UInt64 {
        state.withLock { state in
            defer { state.next &+= 1 }
            state.running[state.next] = name
            return state.next
        }
    }

    func end(_ id: UInt64) {
        _ = state.withLock { $0.running.removeValue(forKey: id) }
    }

    /// What is still running, "name ×count", most frequent first.
    var names: [String] {
        let counts = state.withLock { Dictionary($0.running.values.map { ($0, 1) }, uniquingKeysWith: +) }
        return counts.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.map { "\($0.key) ×\($0.value)" }
    }
}
