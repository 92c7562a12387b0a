import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Storage
import Synchronization

/// The change feed of `ares_events` (issue 16): every event any replica commits, delivered to
/// this process's subscribers exactly once, in global position order (so each stream in version
/// order). A `Service`: run it beside the `PostgresDatabase` it reads.
///
/// ```swift
/// let feed = PostgresChangeFeed(database: database)              // LISTEN/NOTIFY, from now on
/// let feed = PostgresChangeFeed(database: database, mode: .poll(every: .milliseconds(500)))
/// // run `feed` in the ServiceGroup after `database.prepare()`; then feed.subscribe()
/// ```
///
/// **How nothing is skipped or repeated.** A notification (one per commit, `ares_events`) is
/// only a wake-up; the truth is a read of the table after the last position this feed
/// delivered. Reading "after P" is complete only if no event at or below P can become visible
/// later, and PostgreSQL alone does not promise that: positions are taken at INSERT, not at
/// COMMIT, so a writer holding position 5 may still be committing when position 6 is visible.
/// Nor does the snapshot's list of running transactions help: a transaction whose id is above
/// every completed one is not listed (`pg_current_snapshot()`'s xmax is the latest completed
/// id + 1), which the eight-appender test caught. So every append takes
/// `PostgresEventStore.appendLockKey` (a transaction-level advisory lock) before it takes
/// positions and holds it until its commit is visible: positions become visible in order, and
/// a gap below a visible position is a rolled-back append, gone for good.
///
/// **Modes.** `.listen`: one connection of its own (not the pool's: it is held for as long as
/// the feed runs) LISTENs and reads; a read also runs every `fallback` interval, so a lost
/// notification costs latency, never an event. Reads start at least `spacing` (10 ms) apart, so
/// under load one read carries many commits. `.poll`: a read every interval on a pooled
/// connection, for poolers in transaction mode (PgBouncer), where LISTEN does not work.
/// Either way, a lost connection (a restarted server, `pg_terminate_backend`) is retried with
/// backoff and the next read continues from where the feed was.
public final class PostgresChangeFeed: EventChangeFeed, Service, Sendable {
    public enum Mode: Sendable, Equatable {
        /// LISTEN on `PostgresEventStore.notificationChannel`; also read every `fallback`. Reads
        /// start at least `spacing` apart: an idle feed reads at the first notification, a busy
        /// one reads what several commits wrote at once (every commit of every replica
        /// notifies, and each read was a statement per commit on every replica).
        case listen(fallback: Duration = .seconds(5), spacing: Duration = PostgresChangeFeed.readSpacing)
        /// Read every `every`, on a connection of the pool.
        case poll(every: Duration)
    }

    /// Where a new feed starts.
    public enum Start: Sendable, Equatable {
        /// Events committed from the feed's first read on (what a server wants: it reads older
        /// events from the store when it needs them).
        case now
        /// Every event after `position` (0: from the beginning).
        case after(position: Int64)
    }

    /// Events per read; a longer backlog takes several reads, one right after the other.
    public static let eventsPerRead = 500
    /// The least time between the starts of two reads of a listening feed: what a step another
    /// replica recorded may wait, at most, beyond its commit, while commits arrive faster.
    public static let readSpacing = Duration.milliseconds(10)
    /// `application_name` of the listening connection, so operators (and tests) can find it.
    public static let applicationName = "ares-change-feed"

    private struct Cursor {
        var started = false
        var position: Int64 = 0
    }

    private struct Subscribers {
        var next: UInt64 = 0
        var continuations: [UInt64: AsyncStream<[StoredEvent]>.Continuation] = [:]
        var finished = false
    }

    public let mode: Mode
    private let start: Start
    private let client: PostgresDatabasePool
    private let settings: DatabaseSettings
    private let logger: Logger
    /// The store whose group committer follows, from each read, the heads of the streams it
    /// already knows (`PostgresEventStore.followHeads`).
    private let store: PostgresEventStore?
    private let cursor = Mutex(Cursor())
    private let subscribers = Mutex(Subscribers())
    private let counters = Mutex((reads: 0, connections: 0))

    /// `store`: this process's event store on the same database; its next append to a stream
    /// another replica appended to (one every replica writes, such as the episodic memory's)
    /// is then chained on the head this feed read, in one statement, rather than found stale
    /// and sent to the locked transaction.
    public init(database: PostgresDatabase, mode: Mode = .listen(), start: Start = .now, store: PostgresEventStore? = nil,
                logger: Logger? = nil) {
        self.mode = mode
        self.start = start
        self.store = store
        client = database.pool
        settings = database.settings
        self.logger = logger ?? database.logger
    }

    /// The position up to which every committed event has been delivered.
    public var position: Int64 { cursor.withLock { $0.position } }
    /// How many connections the listening feed has opened (more than one: it reconnected).
    public var connectionsOpened: Int { counters.withLock { $0.connections } }
    /// How many reads have completed.
    public var readsCompleted: Int { counters.withLock { $0.reads } }

    public func subscribe() -> AsyncStream<[StoredEvent]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [StoredEvent].self, bufferingPolicy: .unbounded)
        let key = subscribers.withLock { subscribers -> UInt64? in
            guard !subscribers.finished else { return nil }
            let key = subscribers.next
            subscribers.next += 1
            subscribers.continuations[key] = continuation
            return key
        }
        guard let key else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.continuations.removeValue(forKey: key) }
        }
        return stream
    }

    /// Reads and delivers until canceled (or a graceful shutdown); reconnects by itself.
    public func run() async throws {
        defer {
            let continuations = subscribers.withLock { subscribers in
                subscribers.finished = true
                defer { subscribers.continuations = [:] }
                return Array(subscribers.continuations.values)
            }
            for continuation in continuations { continuation.finish() }
        }
        await cancelWhenGracefulShutdown {
            await self.keepReading()
        }
    }

    private func keepReading() async {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            let readsBefore = readsCompleted
            do {
                switch mode {
                case let .listen(fallback, spacing): try await listenAndRead(fallback: fallback, spacing: spacing)
                case let .poll(interval): try await pollAndRead(every: interval)
                }
            } catch {
                if Task.isCancelled { return }
                // A working connection resets the backoff: a server that comes back after a
                // restart is found again within a fraction of a second.
                if readsCompleted > readsBefore { delay = .milliseconds(100) }
                let problem = PostgresStorageError.describing(error, settings: settings)
                logger.warning("change feed: reading failed, reconnecting", metadata: [
                    "problem": "\(problem)", "retryInSeconds": "\(delay)", "position": "\(position)",
                ])
                do { try await Task.sleep(for: delay) } catch { return }
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// One connection of its own: LISTEN, then read at every notification and every `fallback`.
    private func listenAndRead(fallback: Duration, spacing: Duration) async throws {
        var configuration = try PostgresConnectionConfiguration.connection(settings)
        configuration.options.additionalStartupParameters = PostgresConnectionConfiguration.startupParameters
            .filter { $0.0 != "application_name" } + [("application_name", Self.applicationName)]
        let id = counters.withLock { counters in
            counters.connections += 1
            return counters.connections
        }
        let connection = try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
        do {
            try await listenAndRead(on: connection, fallback: fallback, spacing: spacing)
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }

    /// PostgresNIO cannot cancel a query (nor LISTEN) on a connection whose server went silent,
    /// and a call on a connection closed under it may never return. So LISTEN and the reads run
    /// in a task of their own (`AbandonableTask`) while this one watches: the connection is
    /// closed when the feed is cancelled (a graceful shutdown included), when the server dropped
    /// it, or when LISTEN or a read has not answered within the request deadline; then the
    /// listening task gets a moment to end and is otherwise abandoned, and the caller
    /// reconnects (or stops). Before, SIGTERM during a black-holed database, and sometimes after
    /// a PostgreSQL restart, left the feed (and so the process) waiting forever (issue 16).
    private func listenAndRead(on connection: PostgresConnection, fallback: Duration, spacing: Duration) async throws {
        let waiting = PendingAnswer()
        let timeout = settings.requestTimeout
        let failure = ListenFailure()
        let listening = AbandonableTask {
            do {
                try await self.listenAndRead(on: connection, fallback: fallback, spacing: spacing, waiting: waiting)
            } catch {
                failure.record(error)
            }
        }
        var problem: any Error = PostgresStorageError(.connectionLost, "the change feed's connection was closed")
        do {
            while !listening.isEnded {
                guard !connection.isClosed else { break }
                if let since = waiting.since, ContinuousClock.now - since > timeout {
                    problem = PostgresStorageError(.unreachable, """
                        the change feed's connection did not answer within \
                        \(timeout.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow)))
                        """)
                    break
                }
                // Polled: waiting on `closeFuture` would not end when the feed is canceled.
                try await Task.sleep(for: .milliseconds(200))
            }
        } catch {
            problem = error
        }
        connection.close().whenComplete { _ in }
        if !(await listening.cancel(waitingAtMost: .seconds(2))) {
            logger.warning("change feed: abandoning LISTEN or a read that did not end when its connection was closed (PostgresNIO ignores cancellation there)")
        }
        throw failure.error ?? problem
    }

    private func listenAndRead(on connection: PostgresConnection, fallback: Duration, spacing: Duration,
                               waiting: PendingAnswer) async throws {
        waiting.begin()
        try await connection.listen(on: PostgresEventStore.notificationChannel) { notifications in
            waiting.end()
            let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await _ in notifications { wake.yield() }
                    throw PostgresStorageError(.connectionLost, "the change feed's notifications ended")
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: fallback)
                        wake.yield()
                    }
                }
                group.addTask {
                    // The first read catches up on what was committed before LISTEN took effect.
                    wake.yield()
                    // Notifications that arrive meanwhile leave one wake (bufferingNewest(1)): the
                    // next read, `spacing` after this one began, delivers all their commits.
                    for await _ in wakes {
                        let began = ContinuousClock.now
                        try await self.readAll(on: connection, waiting: waiting)
                        try await Task.sleep(until: began + spacing)
                    }
                }
                // Every child runs until it fails (or the feed is canceled).
                defer { group.cancelAll() }
                _ = try await group.next()
            }
        }
    }

    private func pollAndRead(every interval: Duration) async throws {
        while !Task.isCancelled {
            try await client.withConnection { connection in try await self.readAll(on: connection) }
            try await Task.sleep(for: interval)
        }
    }

    /// Reads until the backlog is delivered; each read, not the backlog, is under `waiting`'s deadline.
    private func readAll(on connection: PostgresConnection, waiting: PendingAnswer? = nil) async throws {
        var more = true
        while more {
            waiting?.begin()
            more = try await readOnce(on: connection)
            waiting?.end()
        }
    }

    /// One read: the events after the cursor; delivers them and advances. Returns whether more
    /// may be waiting (a full read).
    private func readOnce(on connection: PostgresConnection) async throws -> Bool {
        var current = cursor.withLock { $0 }
        if !current.started {
            if case let .after(position) = start {
                current.position = max(0, position)
            } else {
                for try await head in try await connection.query(
                    "SELECT coalesce(max(position), 0)::bigint FROM ares_events", logger: logger).decode(Int64.self) {
                    current.position = head
                }
            }
            current.started = true
        }
        let rows = try await connection.query("""
            SELECT position, stream, version, type, payload, recorded_at, hash, previous_hash
            FROM ares_events WHERE position > \(current.position) ORDER BY position LIMIT \(Self.eventsPerRead)
            """, logger: logger)
        var events: [StoredEvent] = []
        // Decoding throws on a NULL or mistyped column (a row edited outside ares), never traps.
        for try await (position, stream, version, type, payload, recordedAt, hash, previousHash)
            in rows.decode((Int64, String, Int64, String, Data, Int64, String, String).self) {
            events.append(StoredEvent(stream: stream, version: version, globalPosition: position, type: type, payload: payload,
                                      recordedAtMicroseconds: recordedAt, hash: hash, previousHash: previousHash))
        }
        logger.trace("change feed: read", metadata: ["after": "\(current.position)", "events": "\(events.count)"])
        current.position = events.last?.globalPosition ?? current.position
        cursor.withLock { $0 = current }
        counters.withLock { $0.reads += 1 }
        if !events.isEmpty {
            await store?.followHeads(of: events)
            let continuations = subscribers.withLock { Array($0.continuations.values) }
            for continuation in continuations { continuation.yield(events) }
        }
        return events.count == Self.eventsPerRead
    }
}

/// Since when the listening connection has owed an answer (LISTEN, or a read), if it does: the
/// feed's deadline is measured from it.
private final class PendingAnswer: Sendable {
    private let started = Mutex<ContinuousClock.Instant?>(nil)
    var since: ContinuousClock.Instant? { started.withLock { $0 } }
    func begin() { started.withLock { $0 = .now } }
    func end() { started.withLock { $0 = nil } }
}

/// Why the listening task ended, if it failed.
private final class ListenFailure: Sendable {
    private let value = Mutex<(any Error)?>(nil)
    var error: (any Error)? { value.withLock { $0 } }
    func record(_ error: any Error) { value.withLock { $0 = error } }
}
