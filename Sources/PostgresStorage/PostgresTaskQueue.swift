import Foundation
import Logging
import PostgresNIO
import Storage
import TaskService

/// The work queue shared by every replica on one PostgreSQL (table `ares_task_queue`,
/// `PostgresMigrations.workQueue`): work is claimed, not assigned.
///
/// - `enqueue` inserts a row unless the task has one (so a replica resuming unfinished tasks
///   at start does not queue a task another replica runs).
/// - `claim` takes the oldest row that is waiting or whose lease expired, skipping rows other
///   replicas are claiming at that moment (`FOR UPDATE SKIP LOCKED`: claimers never wait on
///   each other) and the tasks of principals at their running quota, and leases it to this
///   replica: holder, expiry (the database's clock, so replicas' clocks do not matter) and
///   `attempts` + 1, the claim's fencing token. One statement, one round trip.
/// - `renew` extends this replica's leases in one statement and reports the claims that were
///   lost: a lease that expired and was claimed elsewhere has a new attempt number.
/// - `release` deletes the row when the task ended, or clears the lease when it was given up
///   (a draining replica), which makes it claimable elsewhere at once.
///
/// A replica that dies stops renewing; once its leases expire (`leaseDuration` after the last
/// renewal) the other replicas' claims take its tasks over, each within `pollInterval` of
/// looking. The expected stream version of every append fences a replica that still runs a
/// task it lost: its next step is refused, so no step is recorded twice.
///
/// No notification on enqueue: a notifying commit takes a lock PostgreSQL holds through the
/// WAL flush, which would serialize every submission's commit. The replica that enqueues
/// runs the task at once when it has a free worker; the others look every `pollInterval`.
///
/// ```swift
/// let queue = PostgresTaskQueue(database: database, replicaID: "\(hostname)-\(pid)", logger: logger)
/// let runner = TaskRunner(directory: directory, limits: limits, queue: queue, logger: logger)
/// ```
public final class PostgresTaskQueue: TaskWorkQueue {
    /// Names this replica's leases (in the table, and in logs); unique per running process.
    public let replicaID: String
    public let leaseDuration: Duration?
    public let pollInterval: Duration?

    /// The database of its rows: a `PostgresEventStore` on the same database queues a submitted
    /// task in the commit that records it (`TaskQueueingEventStore`), instead of `enqueue`.
    public let queueDomain: ObjectIdentifier?

    private let client: PostgresDatabasePool
    private let settings: DatabaseSettings
    private let logger: Logger
    /// The lease in milliseconds, as the statements take it.
    private let leaseMilliseconds: Int64
    /// Deletes the rows of ended tasks, many per statement.
    private let endedReleases: PostgresReleaseBatcher

    /// `leaseDuration`: how long a claim lasts without renewal (the runner renews three times
    /// per lease), so roughly how long a dead replica's tasks wait before another takes them.
    /// Shorter means faster takeover and more renewals; it must stay well above the longest
    /// pause a live replica may have (a slow disk, a stalled database connection).
    /// `pollInterval`: how often an idle runner looks for tasks enqueued elsewhere and for
    /// expired leases.
    public init(database: PostgresDatabase, replicaID: String, leaseDuration: Duration = .seconds(5),
                pollInterval: Duration = .milliseconds(250), logger: Logger) {
        queueDomain = ObjectIdentifier(database)
        client = database.pool
        settings = database.settings
        self.replicaID = replicaID
        self.logger = logger
        // Clamped (a day at most, a millisecond at least), so no setting reaches an
        // overflowing conversion or a lease that is expired as it is taken.
        let milliseconds = Self.milliseconds(leaseDuration)
        leaseMilliseconds = milliseconds
        self.leaseDuration = .milliseconds(milliseconds)
        self.pollInterval = .milliseconds(max(10, Self.milliseconds(pollInterval)))
        endedReleases = PostgresReleaseBatcher { [client, settings, replicaID, logger] claims in
            do {
                _ = try await client.execute(ReleaseEndedStatement(taskIDs: claims.map(\.taskID), attempts: claims.map(\.attempt),
                                                                   replicaID: replicaID), logger: logger)
            } catch {
                // The leases then expire by themselves and another claim finds each task ended
                // (its claimant sees that and deletes the row).
                logger.warning("could not release ended tasks' claims; their leases will expire", metadata: [
                    "tasks": .string(claims.map(\.taskID).joined(separator: ",")),
                    "error": .string("\(PostgresStorageError.describing(error, settings: settings))"),
                ])
            }
        }
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        let components = duration.components
        let value = Double(components.seconds) * 1_000 + Double(components.attoseconds) / 1e15
        guard value.isFinite else { return 1 }
        return Int64(min(86_400_000, max(1, value.rounded(.up))))
    }

    @discardableResult
    public func enqueue(_ taskID: String, owner: String?) async throws -> Bool {
        try Self.validate(taskID)
        return try await taskIDs("""
            INSERT INTO ares_task_queue (task_id, owner) VALUES (\(taskID), \(owner))
            ON CONFLICT (task_id) DO NOTHING RETURNING task_id
            """).count == 1
    }

    /// This replica's claim, for submissions it writes already claimed (none without a replica id).
    public var submissionLease: TaskQueueLease? {
        replicaID.isEmpty ? nil : TaskQueueLease(holder: replicaID, milliseconds: leaseMilliseconds)
    }

    public func claim(excludingOwners excludedOwners: Set<String>) async throws -> TaskClaim? {
        try await claim(excludingOwners: excludedOwners, limit: 1).first
    }

    /// A prepared statement (`ClaimStatement`), as `release` is: both run once per task or
    /// batch, and parsing and planning them anew each time cost PostgreSQL more than running them.
    public func claim(excludingOwners excludedOwners: Set<String>, limit: Int) async throws -> [TaskClaim] {
        let statement = ClaimStatement(replicaID: replicaID, leaseMilliseconds: leaseMilliseconds,
                                       excludedOwners: Array(excludedOwners), limit: Int64(min(max(limit, 1), 1_000)))
        return try await described {
            // UPDATE … RETURNING has no order of its own: oldest first, as the rows were chosen.
            try await client.execute(statement, logger: logger)
                .sorted { $0.3 < $1.3 }
                .map { TaskClaim(taskID: $0.0, owner: $0.1, attempt: $0.2) }
        }
    }

    public func renew(_ claims: [TaskClaim]) async throws -> [TaskClaim] {
        guard !claims.isEmpty else { return [] }
        let statement = RenewStatement(taskIDs: claims.map(\.taskID), attempts: claims.map(\.attempt), replicaID: replicaID,
                                       leaseMilliseconds: leaseMilliseconds)
        let renewed = Set(try await described { try await client.execute(statement, logger: logger) })
        return claims.filter { !renewed.contains($0.taskID) }
    }

    /// Only this replica's claim of that attempt is touched: a claim that was lost stays with
    /// whoever took it over. Ended claims are deleted in batches (`PostgresReleaseBatcher`).
    public func release(_ claim: TaskClaim, _ end: TaskClaimEnd) async {
        do {
            switch end {
            case .ended:
                await endedReleases.release(claim)
            case .givenUp:
                // Prepared: a runner whose workers filled up while it claimed hands claims back
                // often (a fifth of the no-op benchmark's tasks).
                _ = try await client.execute(GiveUpStatement(taskID: claim.taskID, attempt: claim.attempt, replicaID: replicaID),
                                             logger: logger)
            }
        } catch {
            // The lease then expires by itself and another claim finds the task (ended: its
            // claimant sees that and deletes the row).
            logger.warning("could not release a task's claim; its lease will expire", metadata: [
                "task": .string(claim.taskID), "error": .string("\(error)"),
            ])
        }
    }

    /// A task that waits, or whose lease expired (its replica is gone), is taken out; a task
    /// that a live replica holds is not (nil).
    public func withdraw(_ taskID: String) async -> TaskClaim? {
        do {
            return try await claims("""
                DELETE FROM ares_task_queue
                WHERE task_id = \(taskID) AND (lease_expires_at IS NULL OR lease_expires_at <= now())
                RETURNING task_id, owner, attempts
                """).first
        } catch {
            logger.warning("could not withdraw a waiting task", metadata: ["task": .string(taskID), "error": .string("\(error)")])
            return nil
        }
    }

    public func waiting(among taskIDs: [String]) async throws -> Set<String> {
        guard !taskIDs.isEmpty else { return [] }
        return Set(try await self.taskIDs("""
            SELECT task_id FROM ares_task_queue WHERE task_id = ANY(\(taskIDs)::text[]) AND lease_holder IS NULL
            """))
    }

    /// The rows stay: the other replicas run them (and this one, should it start again).
    public func removeAll() async {}

    /// Rows waiting (not leased, or with an expired lease) and leased, for `ares db status`,
    /// metrics and tests.
    public func depth() async throws -> (waiting: Int, leased: Int) {
        try await described {
            let rows = try await client.query("""
                SELECT count(*) FILTER (WHERE lease_expires_at IS NULL OR lease_expires_at <= now()),
                       count(*) FILTER (WHERE lease_expires_at > now())
                FROM ares_task_queue
                """, logger: logger)
            for try await (waiting, leased) in rows.decode((Int64, Int64).self) { return (Int(clamping: waiting), Int(clamping: leased)) }
            return (0, 0)
        }
    }

    /// A condition of the statements that claim, renew and release, true for every row they
    /// write: their commit does not wait for the WAL flush (`synchronous_commit` off for that
    /// one transaction; `set_config` with `is_local` true ends with it). A statement that
    /// writes no row has nothing to flush anyway. A condition (volatile, so checked row by row
    /// before each write) rather than a one-row relation in FROM: no join to plan.
    ///
    /// A write that a database crash loses is harmless: a lost claim or renewal makes the task
    /// claimable again (and the expected stream version fences the replica that ran it), a
    /// lost release brings the row back, and its next claimant finds the task ended. Only
    /// `enqueue`, the promise that a task will run, waits for the disk. Why: each flush costs
    /// milliseconds, three per task otherwise.
    static let asynchronousCommit = "set_config('synchronous_commit', 'off', true) IS NOT NULL"

    /// The queue rows a submission writes with its first events (both append paths use it):
    /// `INSERT … SELECT` over rows named `queuedRowsAlias` (task id, owner, whether it has one,
    /// lease holder or '', lease milliseconds). An owner array cannot hold NULL from Swift, so
    /// a flag says which rows have none; a row with a lease holder is written claimed, as a
    /// claim leaves it (attempt 1, expiry by the database's clock).
    static let insertQueuedRows = """
        INSERT INTO ares_task_queue (task_id, owner, lease_holder, lease_expires_at, attempts)
        SELECT q.task_id, CASE WHEN q.has_owner THEN q.owner END, NULLIF(q.holder, ''),
               CASE WHEN q.holder <> '' THEN now() + q.lease_ms * interval '1 millisecond' END,
               CASE WHEN q.holder <> '' THEN 1 ELSE 0 END
        """
    static let queuedRowsAlias = "AS q(task_id, owner, has_owner, holder, lease_ms)"

    /// PostgreSQL's text cannot hold NUL: say so rather than let the server fail the statement.
    private static func validate(_ taskID: String) throws {
        guard !taskID.isEmpty, !taskID.contains("\0") else {
            throw EventStoreError.invalid("a task id must be non-empty text without NUL characters")
        }
    }

    /// Runs `body` with errors described (`PostgresStorageError`: what is wrong, no password).
    private func described<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch {
            throw PostgresStorageError.describing(error, settings: settings)
        }
    }

    /// The task ids a statement returns.
    private func taskIDs(_ query: PostgresQuery) async throws -> [String] {
        try await described {
            var ids: [String] = []
            for try await id in try await client.query(query, logger: logger).decode(String.self) { ids.append(id) }
            return ids
        }
    }

    /// The claims a statement returns (task id, owner, attempts).
    private func claims(_ query: PostgresQuery) async throws -> [TaskClaim] {
        try await described {
            var claims: [TaskClaim] = []
            for try await (id, owner, attempt) in try await client.query(query, logger: logger).decode((String, String?, Int64).self) {
                claims.append(TaskClaim(taskID: id, owner: owner, attempt: attempt))
            }
            return claims
        }
    }
}
