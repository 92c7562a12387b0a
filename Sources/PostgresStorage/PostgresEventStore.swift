import Foundation
import Logging
import NIOCore
import PostgresNIO
import Storage
import TaskService

/// The event store on PostgreSQL, shared by every replica: the same streams, versions,
/// hash chains and limits as `SQLiteEventStore` (schema: `PostgresMigrations.eventStore`).
///
/// Appends are group-committed (`PostgresGroupCommitter`): concurrent appends are written in
/// one transaction that locks the rows of the streams it appends to (`SELECT … FOR UPDATE`),
/// so appends to one stream, from this replica or another, are serialized and no version is
/// lost or duplicated; `UNIQUE (stream, version)` is the last line of defence and reports a
/// conflict too. Each commit sends one notification on `ares_events` (delivered only if the
/// commit succeeds). Every connection sets `synchronous_commit = on`, so an acknowledged
/// append is flushed to disk (and, with synchronous standbys configured, to them).
///
/// It is also a `TaskQueueingEventStore`: `appendQueueing` records a new task and inserts its
/// `ares_task_queue` row (`PostgresTaskQueue`) in the same group-committed transaction.
public final class PostgresEventStore: TaskQueueingEventStore {
    /// The notification channel of committed appends; one notification per commit, its
    /// payload JSON: `{"position": P, "streams": {"STREAM": VERSION, ...}}`, the global
    /// position of the commit's last event and each stream's new version (`streams` is null
    /// when the list would not fit PostgreSQL's 8000-byte payload).
    public static let notificationChannel = "ares_events"
    /// The transaction-level advisory lock every append takes before it inserts (held until its
    /// commit is visible): global positions become visible in order, so a reader that has seen
    /// position P will never see a new event at or below P (`PostgresChangeFeed`). "ares" in
    /// ASCII and a 2 (the migrator's lock is 1).
    public static let appendLockKey: Int64 = 0x6172_6573_0000_0002

    let client: PostgresDatabasePool
    let settings: DatabaseSettings
    let logger: Logger
    private let committer: PostgresGroupCommitter
    /// The queue rows this store writes are claimed by the `PostgresTaskQueue`s of the same database.
    public let queueDomain: ObjectIdentifier?

    public init(database: PostgresDatabase) {
        queueDomain = ObjectIdentifier(database)
        client = database.pool
        settings = database.settings
        logger = database.logger
        committer = PostgresGroupCommitter(client: database.pool, settings: database.settings, logger: database.logger)
    }

    public func append(_ events: [NewEvent], to stream: String, expectedVersion: Int64? = nil) async throws -> [StoredEvent] {
        try SQLiteEventStore.validate(events, stream: stream)
        // PostgreSQL's text cannot hold NUL; say so rather than let the server fail the insert.
        guard !stream.contains("\0"), !events.contains(where: { $0.type.contains("\0") }) else {
            throw EventStoreError.invalid("a stream id or event type must not contain a NUL character")
        }
        return try await committer.append(.init(stream: stream, events: events, expectedVersion: expectedVersion))
    }

    /// The task's queue row is inserted only if its events are (a version conflict, a failed
    /// batch: neither), with `ON CONFLICT DO NOTHING` like `PostgresTaskQueue.enqueue`; with a
    /// lease, claimed as `PostgresTaskQueue.claim` leaves a row (holder, expiry by the
    /// database's clock, attempt 1).
    public func appendQueueing(_ events: [NewEvent], toNewStream stream: String, owner: String?,
                               leasedTo lease: TaskQueueLease?) async throws -> [StoredEvent] {
        try SQLiteEventStore.validate(events, stream: stream)
        guard !stream.contains("\0"), !events.contains(where: { $0.type.contains("\0") }), owner?.contains("\0") != true,
              lease?.holder.contains("\0") != true else {
            throw EventStoreError.invalid("a stream id, event type, task owner or lease holder must not contain a NUL character")
        }
        let clamped = lease.map { TaskQueueLease(holder: $0.holder, milliseconds: min(max($0.milliseconds, 1), 86_400_000)) }
        return try await committer.append(.init(stream: stream, events: events, expectedVersion: 0,
                                                queued: .init(owner: owner, lease: clamped)))
    }

    public func read(stream: String) async throws -> [StoredEvent] {
        try await read(stream: stream, afterVersion: 0)
    }

    public func read(stream: String, afterVersion version: Int64) async throws -> [StoredEvent] {
        do {
            let rows = try await client.query("""
                SELECT position, version, type, payload, recorded_at, hash, previous_hash
                FROM ares_events WHERE stream = \(stream) AND version > \(version) ORDER BY version
                """, logger: logger)
            var events: [StoredEvent] = []
            // Decoding throws on a NULL or mistyped column (a row edited outside ares), never traps.
            for try await (position, version, type, payload, recordedAt, hash, previousHash)
                in rows.decode((Int64, Int64, String, Data, Int64, String, String).self) {
                events.append(StoredEvent(stream: stream, version: version, globalPosition: position, type: type, payload: payload,
                                          recordedAtMicroseconds: recordedAt, hash: hash, previousHash: previousHash))
            }
            if let last = events.last { await committer.learn(stream, head: (last.version, last.hash)) }
            return events
        } catch {
            throw PostgresStorageError.describing(error, settings: settings)
        }
    }

    /// Events other replicas committed (read by the change feed): the group committer updates
    /// the heads it knows of their streams; streams it does not know stay unknown (the feed
    /// reads every task's events, and the cache is for the streams appended here).
    func followHeads(of events: [StoredEvent]) async {
        var heads: [String: StreamHeadCache.Head] = [:]
        for event in events { heads[event.stream] = (event.version, event.hash) }
        await committer.follow(heads)
    }

    /// With the last event's version and hash, which the group committer learns as the
    /// stream's head: a task claimed here after another replica wrote it (its state is read
    /// whole at the claim) then appends its next step in one statement, not in the locked
    /// transaction (on two replicas, 1.1 locked transactions per task before; BENCHMARKS.md).
    public func readPayloads(stream: String) async throws -> [Data] {
        do {
            let rows = try await client.query("SELECT payload, version, hash FROM ares_events WHERE stream = \(stream) ORDER BY version",
                                              logger: logger)
            var payloads: [Data] = []
            var head: StreamHeadCache.Head?
            for try await (payload, version, hash) in rows.decode((Data, Int64, String).self) {
                payloads.append(payload)
                head = (version, hash)
            }
            if let head { await committer.learn(stream, head: head) }
            return payloads
        } catch {
            throw PostgresStorageError.describing(error, settings: settings)
        }
    }

    public func streams() async throws -> [StreamInfo] {
        do {
            // Version 0 is a stream created by an append that has not committed (or failed): not a stream yet.
            let rows = try await client.query("""
                SELECT stream, version, last_type, last_recorded_at FROM ares_event_streams
                WHERE version > 0 ORDER BY last_recorded_at DESC
                """, logger: logger)
            var streams: [StreamInfo] = []
            for try await (stream, version, lastType, lastRecordedAt) in rows.decode((String, Int64, String, Int64).self) {
                streams.append(StreamInfo(stream: stream, version: version, lastType: lastType,
                                          lastRecordedAt: Date(timeIntervalSince1970: Double(lastRecordedAt) / 1_000_000)))
            }
            return streams
        } catch {
            throw PostgresStorageError.describing(error, settings: settings)
        }
    }

    public func firstPayloads(streamPrefix prefix: String) async throws -> [String: Data] {
        do {
            // A range on the "C"-collated key instead of LIKE: no escaping of % and _ in the prefix.
            let rows = try await client.query("""
                SELECT s.stream, e.payload FROM ares_event_streams s
                JOIN ares_events e ON e.stream = s.stream AND e.version = 1
                WHERE s.stream >= \(prefix) AND starts_with(s.stream, \(prefix))
                """, logger: logger)
            var payloads: [String: Data] = [:]
            for try await (stream, payload) in rows.decode((String, Data).self) { payloads[stream] = payload }
            return payloads
        } catch {
            throw PostgresStorageError.describing(error, settings: settings)
        }
    }

    public func verify() async throws -> ChainVerification {
        do {
            let rows = try await client.query("""
                SELECT stream, version, type, payload, recorded_at, hash, previous_hash FROM ares_events ORDER BY stream, version
                """, logger: logger)
            var breaks: [ChainVerification.Break] = []
            var streams = 0
            var count = 0
            var currentStream: String?
            var expectedVersion: Int64 = 1
            var previous = EventHashChain.genesis
            var heads: [String: (version: Int64, hash: String)] = [:]
            var retentionRecords: [(version: Int64, payload: Data)] = []
            for try await (stream, version, type, payload, recordedAt, hash, storedPrevious)
                in rows.decode((String, Int64, String, Data, Int64, String, String).self) {
                if stream != currentStream {
                    currentStream = stream
                    streams += 1
                    expectedVersion = 1
                    previous = EventHashChain.genesis
                }
                count += 1
                if version != expectedVersion {
                    breaks.append(.init(stream: stream, version: version, problem: "expected version \(expectedVersion): an event is missing"))
                }
                if storedPrevious != previous {
                    breaks.append(.init(stream: stream, version: version, problem: "its previous-hash does not match the event before it"))
                }
                let recomputed = EventHashChain.hash(previous: storedPrevious, stream: stream, version: version, type: type,
                                                     recordedAt: recordedAt, payload: payload)
                if recomputed != hash {
                    breaks.append(.init(stream: stream, version: version, problem: "its content does not match its hash: the event was changed"))
                }
                previous = hash
                // An edited version of Int64.max must be reported, not overflow.
                expectedVersion = version &+ 1
                heads[stream] = (version, hash)
                if stream == RetentionRecord.stream { retentionRecords.append((version, payload)) }
            }
            // Each stream's head must name its newest event, as `SQLiteEventStore.verify` checks:
            // otherwise events were cut off its end (what remains still chains). Version 0 is an
            // append that never committed, not a stream.
            let recorded = try await client.query(
                "SELECT stream, version, last_hash FROM ares_event_streams WHERE version > 0 ORDER BY stream", logger: logger)
            for try await (stream, version, hash) in recorded.decode((String, Int64, String).self) {
                guard let head = heads[stream] else {
                    breaks.append(.init(stream: stream, version: version, problem: "the stream has a head but no events: its events were removed"))
                    continue
                }
                if head.version != version || head.hash != hash {
                    breaks.append(.init(stream: stream, version: head.version,
                                        problem: "the stream's head says version \(version) but the newest event is version \(head.version) (or its hash differs): events were cut off its end"))
                }
            }
            // Streams removed by retention: each checkpoint must match the record that anchors it.
            let pruned = try await verifyPrunedStreams(records: retentionRecords)
            var verification = ChainVerification(streams: streams, events: count, breaks: breaks + pruned.breaks)
            verification.prunedStreams = pruned.prunedStreams
            return verification
        } catch {
            throw PostgresStorageError.describing(error, settings: settings)
        }
    }
}
