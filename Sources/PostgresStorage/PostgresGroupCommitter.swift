import Foundation
import Logging
import NIOCore
import PostgresNIO
import Storage
import TaskService

/// Collects concurrent appends and writes each collection in one transaction, as
/// `SQLiteEventStore`'s group committer does: one commit (one WAL flush) for many appends.
///
/// Why not a transaction per append: every append sends one notification, and PostgreSQL
/// serializes the commits of notifying transactions on one lock held through the WAL flush,
/// so appends on separate connections would still be flushed one at a time. Batched, one
/// commit and one notification carry every append that arrived while the previous batch was
/// being written.
///
/// A batch is first written as one autocommit statement for the streams whose head is known
/// beforehand: new streams (a submitted task) and streams this process wrote last (a task's
/// next step), which is nearly every append (`PostgresOneStatementAppend`: one round trip
/// instead of five, so a batch holds its connection and the append lock for less time). The
/// rest, and the streams whose head turned out to have moved (another replica appended), go
/// through the locked transaction: lock the rows of every stream it touches (in stream order,
/// so two replicas' batches cannot deadlock on each other; new streams are created first),
/// check each request's expected version against the locked heads (a conflicting request fails
/// alone and the rest go on), chain the hashes in request order, then insert every event,
/// advance every stream and notify in one statement, and commit.
actor PostgresGroupCommitter {
    struct Request: Sendable {
        var stream: String
        var events: [NewEvent]
        var expectedVersion: Int64?
        /// The task to queue (`ares_task_queue`) in the same transaction, if the events are accepted.
        var queued: QueuedTask?
    }

    /// A work-queue row that commits with its task's first events (`PostgresEventStore.appendQueueing`).
    struct QueuedTask: Sendable {
        var owner: String?
        /// Written claimed by this lease, or waiting (nil).
        var lease: TaskQueueLease?
    }

    /// A batch stops growing at this many events or payload bytes (the first request always fits).
    static let maximumBatchEvents = 4_000
    static let maximumBatchBytes = 8 << 20
    /// Attempts of a batch the server aborted for a deadlock or a serialization failure.
    static let attempts = 3

    private let client: PostgresDatabasePool
    private let settings: DatabaseSettings
    private let logger: Logger
    private var queue: [(request: Request, continuation: CheckedContinuation<[StoredEvent], any Error>)] = []
    /// Batches being written now, each in its own transaction on its own connection.
    private var inFlight = 0
    /// Why one: every append commit in the database holds the append lock (and PostgreSQL's
    /// notification lock) through its WAL flush, so commits are written one at a time across
    /// all replicas whatever this number is. A second batch in flight (as before) only waited
    /// on the lock, holding a connection, while the appends behind it formed small batches;
    /// with one, they gather into the next batch instead. Measured on two replicas
    /// (BENCHMARKS.md, issue 16): SendMessage +8–18 %, no-op tasks +19 %. More stays safe: two
    /// batches of one process are as safe as two replicas' batches (heads are locked in stream
    /// order and the append lock after them, so they cannot deadlock).
    static let maximumBatchesInFlight = 1

    /// The head (version, last hash) of each stream this process wrote last: what lets a
    /// task's next append be one statement (`PostgresOneStatementAppend`). Only a guess: the
    /// statement checks it against the head row, and a stream another replica appended to
    /// meanwhile goes to the locked transaction. Bounded: a stream forgotten costs one locked
    /// transaction, never a wrong append.
    private var knownHeads = StreamHeadCache(capacity: PostgresGroupCommitter.maximumKnownHeads)
    static let maximumKnownHeads = 16_384

    init(client: PostgresDatabasePool, settings: DatabaseSettings, logger: Logger) {
        self.client = client
        self.settings = settings
        self.logger = logger
    }

    func append(_ request: Request) async throws -> [StoredEvent] {
        try await withCheckedThrowingContinuation { continuation in
            queue.append((request, continuation))
            startBatches()
        }
    }

    /// Starts a batch of the waiting appends while fewer than `maximumBatchesInFlight` are
    /// being written. A batch outlives no caller: every appender in it awaits its own
    /// continuation, which the batch resumes when it ends. Its own task, not one of the
    /// appenders' (a leader among them): a caller canceled (a request timing out) must not
    /// cancel the statement that carries everyone else's append.
    private func startBatches() {
        while inFlight < Self.maximumBatchesInFlight, !queue.isEmpty {
            var count = 0, events = 0, bytes = 0
            for entry in queue {
                let size = entry.request.events.reduce(0) { $0 + $1.payload.count }
                if count > 0, events + entry.request.events.count > Self.maximumBatchEvents || bytes + size > Self.maximumBatchBytes { break }
                count += 1
                events += entry.request.events.count
                bytes += size
            }
            let batch = Array(queue.prefix(count))
            queue.removeFirst(count)
            inFlight += 1
            Task { await self.write(batch) }
        }
    }

    /// Writes one batch. The actor is suspended while PostgreSQL writes, so new appends queue
    /// for the next batch.
    private func write(_ batch: [(request: Request, continuation: CheckedContinuation<[StoredEvent], any Error>)]) async {
        let requests = batch.map(\.request)
        var heads: [String: (version: Int64, hash: String)] = [:]
        for request in requests { if let head = knownHeads[request.stream] { heads[request.stream] = head } }
        let outcomes = await commitInOneStatement(requests, knownHeads: heads)
        remember(requests, outcomes)
        for (entry, outcome) in zip(batch, outcomes) { entry.continuation.resume(with: outcome) }
        inFlight -= 1
        startBatches()
    }

    /// The batch as one statement where every head is known (`PostgresOneStatementAppend`);
    /// the rest, and the streams whose head was not what this process believed, in the locked
    /// transaction after it. A result per request, in order.
    private func commitInOneStatement(_ requests: [Request], knownHeads: [String: (version: Int64, hash: String)]) async
        -> [Result<[StoredEvent], any Error>] {
        let plan = PostgresOneStatementAppend(requests, knownHeads: knownHeads, now: Int64(Date().timeIntervalSince1970 * 1_000_000))
        guard !plan.planned.isEmpty else { return await commit(requests) }
        var outcomes = [Result<[StoredEvent], any Error>?](repeating: nil, count: requests.count)
        var locked = plan.unplanned
        do {
            let positions = try await plan.write(on: client, logger: logger)
            for stream in plan.planned {
                guard let written = positions[stream.stream] else {
                    locked += stream.requestIndices
                    continue
                }
                for (index, outcome) in zip(stream.requestIndices, stream.outcomes) where outcomes.indices.contains(index) {
                    outcomes[index] = outcome.map { events in
                        events.map { event in
                            var event = event
                            event.globalPosition = written[event.version] ?? 0
                            return event
                        }
                    }
                }
            }
        } catch let error where ["40P01", "40001", "23505"].contains(PostgresStorageError.sqlState(of: error)) {
            // Nothing was written (the statement is its own transaction): the locked
            // transaction retries a deadlock and finds whose append a duplicate version is.
            locked = Array(requests.indices)
        } catch {
            let described = PostgresStorageError.describing(error, settings: settings)
            return requests.map { _ in .failure(described) }
        }
        if !locked.isEmpty {
            locked.sort()
            let lockedOutcomes = await commit(locked.map { requests[$0] })
            for (index, outcome) in zip(locked, lockedOutcomes) where outcomes.indices.contains(index) { outcomes[index] = outcome }
        }
        return outcomes.map { $0 ?? .failure(PostgresStorageError(.server, "an append was neither written nor refused")) }
    }

    /// Keeps the head each request left (or forgets the stream when its append failed: its head is unknown).
    private func remember(_ requests: [Request], _ outcomes: [Result<[StoredEvent], any Error>]) {
        for (request, outcome) in zip(requests, outcomes) {
            switch outcome {
            case let .success(events):
                guard let last = events.last else { continue }
                learn(request.stream, head: (last.version, last.hash))
            case .failure:
                knownHeads.forget(request.stream)
            }
        }
    }

    /// A stream's head as an append left it or a read found it: kept unless a newer one is
    /// known (batches in flight together may finish out of order; a read may be older than an
    /// append here). A guess like every known head: a stale one costs a locked transaction.
    func learn(_ stream: String, head: StreamHeadCache.Head) {
        if let known = knownHeads[stream], known.version >= head.version { return }
        knownHeads.remember(stream, head)
    }

    /// Newer heads of streams already known here, from the change feed; other streams are not
    /// added (they were not appended here).
    func follow(_ heads: [String: StreamHeadCache.Head]) {
        for (stream, head) in heads where knownHeads[stream] != nil { learn(stream, head: head) }
    }

    private func commit(_ requests: [Request]) async -> [Result<[StoredEvent], any Error>] {
        var attempt = 1
        while true {
            do {
                return try await Self.transaction(requests, client: client, logger: logger)
            } catch let error where ["40P01", "40001"].contains(PostgresStorageError.sqlState(of: error)) && attempt < Self.attempts {
                attempt += 1
            } catch let error where PostgresStorageError.sqlState(of: error) == "23505" {
                // A row at a version a stream's head did not account for (written behind the
                // store's back): find whose append it is by committing each on its own.
                guard requests.count > 1 else {
                    return [.failure(await conflict(of: requests[0]))]
                }
                var outcomes: [Result<[StoredEvent], any Error>] = []
                for request in requests { outcomes += await commit([request]) }
                return outcomes
            } catch {
                let described = PostgresStorageError.describing(error, settings: settings)
                return requests.map { _ in .failure(described) }
            }
        }
    }

    private func conflict(of request: Request) async -> any Error {
        do {
            var actual: Int64 = 0
            for try await latest in try await client.query(
                "SELECT coalesce(max(version), 0)::bigint FROM ares_events WHERE stream = \(request.stream)", logger: logger).decode(Int64.self) {
                actual = latest
            }
            return EventStoreError.versionConflict(stream: request.stream, expected: request.expectedVersion ?? actual, actual: actual)
        } catch {
            return PostgresStorageError.describing(error, settings: settings)
        }
    }

    /// One attempt at the batch: its transaction on a connection of the pool.
    private static func transaction(_ requests: [Request], client: PostgresDatabasePool, logger: Logger) async throws
        -> [Result<[StoredEvent], any Error>] {
        try await client.withConnection { connection in
            try await PostgresTransaction.run(on: connection, logger: logger) { connection in
                try await apply(requests, on: connection, logger: logger)
            }
        }
    }

    /// The batch inside its transaction: a result per request, in order.
    private static func apply(_ requests: [Request], on connection: PostgresConnection, logger: Logger) async throws
        -> [Result<[StoredEvent], any Error>] {
        let streams = Array(Set(requests.map(\.stream))).sorted()
        var heads = try await lockHeads(of: streams, on: connection, logger: logger)

        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        var outcomes: [Result<[StoredEvent], any Error>] = []
        var accepted: [StoredEvent] = []
        var queuedTasks: [(taskID: String, task: QueuedTask)] = []
        for request in requests {
            guard let head = heads[request.stream] else {
                outcomes.append(.failure(PostgresStorageError(.server, "stream '\(request.stream)' could neither be created nor found")))
                continue
            }
            if let expected = request.expectedVersion, expected != head.version {
                outcomes.append(.failure(EventStoreError.versionConflict(stream: request.stream, expected: expected, actual: head.version)))
                continue
            }
            var version = head.version
            var previous = head.hash
            var stored: [StoredEvent] = []
            var overflowed = false
            for event in request.events {
                let (next, overflow) = version.addingReportingOverflow(1)
                if overflow { overflowed = true; break }
                version = next
                let hash = EventHashChain.hash(previous: previous, stream: request.stream, version: version, type: event.type,
                                               recordedAt: now, payload: event.payload)
                stored.append(StoredEvent(stream: request.stream, version: version, globalPosition: 0, type: event.type,
                                          payload: event.payload, recordedAtMicroseconds: now, hash: hash, previousHash: previous))
                previous = hash
            }
            if overflowed {
                outcomes.append(.failure(EventStoreError.invalid(
                    "stream '\(request.stream)' is at version \(head.version) and cannot grow: the event store is damaged")))
                continue
            }
            heads[request.stream] = (version, previous, stored.last?.type ?? "")
            accepted += stored
            if let queued = request.queued { queuedTasks.append((request.stream, queued)) }
            outcomes.append(.success(stored))
        }
        guard !accepted.isEmpty else { return outcomes }

        // Positions in commit order (what lets the change feed read "after position P"): the
        // lock is held from taking positions to the end of the commit, and released only once
        // the commit is visible, so no replica takes a higher position while a lower one may
        // still become visible. Commits that notify are serialized by PostgreSQL anyway (on a
        // lock held through the WAL flush); this adds only the INSERT to that window. The
        // INSERT statement takes the lock itself (`append_lock`), after the heads above.
        let positions = try await insert(accepted, heads: heads, queuedTasks: queuedTasks, now: now, on: connection, logger: logger)
        return outcomes.map { outcome in
            outcome.map { events in
                events.map { event in
                    var event = event
                    event.globalPosition = positions[StreamVersion(stream: event.stream, version: event.version)] ?? 0
                    return event
                }
            }
        }
    }

    private struct StreamVersion: Hashable {
        var stream: String
        var version: Int64
    }

    /// Locks the head row of each stream (creating the new ones at version 0, locked by this
    /// transaction); returns each stream's version and last hash.
    private static func lockHeads(of streams: [String], on connection: PostgresConnection, logger: Logger) async throws
        -> [String: (version: Int64, hash: String, type: String)] {
        var heads: [String: (version: Int64, hash: String, type: String)] = [:]
        // ORDER BY before FOR UPDATE: rows are locked in stream order, the same in every batch.
        for try await (stream, version, hash) in try await connection.query("""
            SELECT stream, version, last_hash FROM ares_event_streams WHERE stream = ANY(\(streams)::text[]) ORDER BY stream FOR UPDATE
            """, logger: logger).decode((String, Int64, String).self) {
            heads[stream] = (version, hash, "")
        }
        let missing = streams.filter { heads[$0] == nil }
        guard !missing.isEmpty else { return heads }
        // ON CONFLICT DO NOTHING waits for a concurrent creator to commit, then skips the row;
        // the SELECT after it locks what others created meanwhile.
        for try await (stream, version, hash) in try await connection.query("""
            INSERT INTO ares_event_streams (stream, version, last_hash, last_type, last_recorded_at)
            SELECT s, 0, \(EventHashChain.genesis), '', 0 FROM unnest(\(missing)::text[]) AS s ORDER BY s
            ON CONFLICT (stream) DO NOTHING RETURNING stream, version, last_hash
            """, logger: logger).decode((String, Int64, String).self) {
            heads[stream] = (version, hash, "")
        }
        let stillMissing = missing.filter { heads[$0] == nil }
        guard !stillMissing.isEmpty else { return heads }
        for try await (stream, version, hash) in try await connection.query("""
            SELECT stream, version, last_hash FROM ares_event_streams WHERE stream = ANY(\(stillMissing)::text[]) ORDER BY stream FOR UPDATE
            """, logger: logger).decode((String, Int64, String).self) {
            heads[stream] = (version, hash, "")
        }
        return heads
    }

    /// Inserts the events, advances the streams that got events, queues the tasks submitted
    /// with them (`queuedTasks`: their work-queue rows, `PostgresTaskQueue`) and sends the
    /// commit's one notification, in one statement; returns each event's global position.
    private static func insert(_ events: [StoredEvent], heads: [String: (version: Int64, hash: String, type: String)],
                               queuedTasks: [(taskID: String, task: QueuedTask)], now: Int64,
                               on connection: PostgresConnection, logger: Logger) async throws -> [StreamVersion: Int64] {
        let advanced = Array(Set(events.map(\.stream))).sorted()
        let newVersions = advanced.map { heads[$0]?.version ?? 0 }
        let newHashes = advanced.map { heads[$0]?.hash ?? "" }
        let newTypes = advanced.map { heads[$0]?.type ?? "" }
        // {"position": last global position, "streams": {"stream": new version, ...}}; a
        // batch of very many streams leaves "streams" out (the payload limit is 8000 bytes):
        // a listener then reads from the position it last saw.
        var streamVersions = "{" + zip(advanced, newVersions).map { "\(Self.jsonString($0)):\($1)" }.joined(separator: ",") + "}"
        if streamVersions.utf8.count > 6_000 { streamVersions = "null" }
        // The append lock in the same statement, one round trip less: every inserted row is
        // joined with the lock's one row, so no row (and no position, which the identity
        // default takes per row) exists before the lock is held.
        let rows = try await connection.query("""
            WITH append_lock AS MATERIALIZED (
                SELECT pg_advisory_xact_lock(\(PostgresEventStore.appendLockKey)) AS held
            ), inserted AS (
                INSERT INTO ares_events (stream, version, type, payload, recorded_at, hash, previous_hash)
                SELECT e.stream, e.version, e.type, e.payload, \(now), e.hash, e.previous_hash
                FROM unnest(\(events.map(\.stream))::text[], \(events.map(\.version))::bigint[], \(events.map(\.type))::text[],
                            \(events.map { ByteBuffer(bytes: $0.payload) })::bytea[], \(events.map(\.hash))::text[],
                            \(events.map(\.previousHash))::text[])
                    AS e(stream, version, type, payload, hash, previous_hash)
                    CROSS JOIN append_lock
                RETURNING stream, version, position
            ), advanced AS (
                UPDATE ares_event_streams AS s SET version = u.version, last_hash = u.hash, last_type = u.type, last_recorded_at = \(now)
                FROM unnest(\(advanced)::text[], \(newVersions)::bigint[], \(newHashes)::text[], \(newTypes)::text[])
                    AS u(stream, version, hash, type)
                WHERE s.stream = u.stream
            ), queued AS (
                \(unescaped: PostgresTaskQueue.insertQueuedRows)
                FROM unnest(\(queuedTasks.map(\.taskID))::text[], \(queuedTasks.map { $0.task.owner ?? "" })::text[],
                            \(queuedTasks.map { $0.task.owner != nil })::bool[], \(queuedTasks.map { $0.task.lease?.holder ?? "" })::text[],
                            \(queuedTasks.map { $0.task.lease?.milliseconds ?? 0 })::bigint[])
                    \(unescaped: PostgresTaskQueue.queuedRowsAlias)
                ON CONFLICT (task_id) DO NOTHING
            ), notified AS (
                SELECT pg_notify('ares_events', json_build_object('position', (SELECT max(position) FROM inserted),
                                                                 'streams', \(streamVersions)::json)::text)
            )
            SELECT i.stream, i.version, i.position FROM inserted i CROSS JOIN notified
            """, logger: logger)
        var positions: [StreamVersion: Int64] = [:]
        for try await (stream, version, position) in rows.decode((String, Int64, Int64).self) {
            positions[StreamVersion(stream: stream, version: version)] = position
        }
        guard positions.count == events.count else {
            throw PostgresStorageError(.server, "the database recorded \(positions.count) of \(events.count) events")
        }
        return positions
    }

    /// A JSON string literal (stream names are arbitrary text).
    private static func jsonString(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
