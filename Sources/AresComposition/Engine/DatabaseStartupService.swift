import Foundation
import Logging
import PostgresNIO
import PostgresStorage
import Security
import ServiceLifecycle
import Synchronization

/// Start-up of a replica on the shared database, run beside the HTTP server so that the
/// process is live (and says why it is not ready) while the database is away:
/// 1. waits for the database with backoff, however long it takes, then applies pending
///    migrations under the advisory lock (`PostgresDatabase.prepare`); a problem that waiting
///    cannot fix (a wrong password, a missing database or privilege, a schema newer than this
///    ares) stops the server with one line naming it;
/// 2. loads the API keys, and refuses to serve when none could be used (as without a database);
/// 3. takes up unfinished tasks (`onReady`), then readiness turns true;
/// 4. keeps the API keys in step with the database (`PostgresAPIKeyRefresher`) until the
///    server stops; from step 1 on, it pings the database every second for readiness.
public struct DatabaseStartupService: Service {
    let shared: SharedDatabase
    let refresher: PostgresAPIKeyRefresher
    let authenticator: APIKeyAuthenticator
    /// Whether a server without an active key would have no way in (no `--dev`, tokens or
    /// client certificates): then it stops, as the embedded server refuses to start.
    let requiresKeys: Bool
    let onReady: @Sendable () async throws -> Void
    let logger: Logger

    public func run() async throws {
        // A shutdown cancels the waiting and pinging: that is the end of this service, not an error.
        do {
            try await runUntilShutdown()
        } catch is CancellationError {
            return
        }
    }

    private func runUntilShutdown() async throws {
        try await cancelWhenGracefulShutdown {
            try await self.prepare()
            self.shared.recordPrepared()
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Pings from the moment the database is prepared, not only once start-up is over:
                // loading the keys and resuming hundreds of unfinished tasks can take longer than
                // `SharedDatabase.pingTolerance`, and without a fresh answer the gated store would
                // count the database lost and refuse the resumption's writes, stopping the server.
                group.addTask { try await self.pingUntilStopped() }
                let keysLoadedAt = try await self.refresher.refreshNow()
                if self.requiresKeys, try !self.authenticator.hasActiveKeys() {
                    throw PostgresStorageError(.server, """
                        no API key exists in the database \(self.shared.database.settings.database), so no one could use this server: \
                        create one with `ares keys create --role admin --database URL`
                        """)
                }
                try await self.onReady()
                self.shared.recordStarted()
                self.logger.info("database ready", metadata: ["replica": .string(self.shared.replicaID),
                                                              "database": .string("\(self.shared.database.settings)")])
                // From now on the keys follow the database too (revocations reach this replica
                // within the refresher's interval; a key is refused only after a fresh reload).
                group.addTask { await self.refresher.refreshUntilCancelled(loadedAt: keysLoadedAt) }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    private func prepare() async throws {
        var attempt = 1
        while true {
            shared.recordAttempt(attempt, problem: nil)
            do {
                try await shared.database.prepare()
                return
            } catch let problem as PostgresStorageError where problem.isRetryable {
                // `prepare` already retried with backoff for a while: say so, keep waiting.
                shared.recordAttempt(attempt, problem: problem.message)
                logger.warning("waiting for the database", metadata: ["problem": .string(problem.message)])
                try await Task.sleep(for: .seconds(2))
                attempt += 1
            }
        }
    }

    /// Pings over connections of their own (`PostgresDatabasePinger`), one a second, each in
    /// its own child task: a ping that hangs (a half-open connection) must not stop the next
    /// ones, which say when the database answers again. At most a few are outstanding.
    private func pingUntilStopped() async throws {
        let pinger = PostgresDatabasePinger(database: shared.database)
        let shared = shared
        let logger = logger
        let outstanding = PingCount()
        try await withThrowingDiscardingTaskGroup { group in
            var round = 0
            while !Task.isCancelled {
                try await Task.sleep(for: SharedDatabase.pingInterval)
                guard outstanding.begin(limit: 4) else { continue }
                round &+= 1
                let id = round
                group.addTask {
                    let outcome = await pinger.check(id: id)
                    outstanding.end()
                    let wasLost = shared.isLost
                    let usage = shared.recordPing(outcome)
                    Self.reportNotificationQueue(before: usage.before, now: usage.now, logger: logger)
                    if let problem = outcome.problem, !wasLost, shared.isLost {
                        logger.warning("the database does not answer; requests that need it answer 503 and running tasks wait",
                                       metadata: ["problem": .string(problem)])
                    } else if outcome.problem == nil, wasLost {
                        logger.info("the database answers again")
                    }
                }
            }
        }
    }
}

extension DatabaseStartupService {
    /// One line when the notification queue's usage crosses the warning or the limit, either way.
    static func reportNotificationQueue(before: Double, now: Double, logger: Logger) {
        let limit = SharedDatabase.notificationQueueLimit, warning = SharedDatabase.notificationQueueWarning
        let metadata: Logger.Metadata = ["usage": .string(SharedDatabase.percent(now))]
        if before < limit, now >= limit {
            logger.error("""
                PostgreSQL's notification queue is nearly full: writes are refused (503) until it drains; \
                a session that listens has stopped reading (see pg_stat_activity)
                """, metadata: metadata)
        } else if before >= limit, now < limit {
            logger.info("PostgreSQL's notification queue drained: writes are taken again", metadata: metadata)
        } else if before < warning, now >= warning {
            logger.warning("""
                PostgreSQL's notification queue is filling: a session that listens has stopped reading \
                (see pg_stat_activity); writes are refused from \(SharedDatabase.percent(limit))
                """, metadata: metadata)
        }
    }
}

/// Pings in flight, bounded.
final class PingCount: Sendable {
    private let count = Mutex(0)

    func begin(limit: Int) -> Bool {
        count.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func end() {
        count.withLock { $0 -= 1 }
    }
}
