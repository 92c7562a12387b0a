import Foundation
import Logging
import NIOCore
import PostgresNIO
import Storage
import TaskService

/// A batch of appends written as one autocommit statement, one round trip, for the streams
/// whose head is known before the batch is sent (issue 16: a submission and a task's next step
/// paid five round trips each; now one).
///
/// A stream's head is known when the batch's first request for it expects version 0 (a new
/// stream: a submitted task) or when this process wrote the stream's last event
/// (`PostgresGroupCommitter`'s cache of heads). The hashes are chained on that head here, and
/// the statement checks it: a new stream's head row is inserted at its final version
/// (`ON CONFLICT DO NOTHING`: a stream someone else created is not written), a known stream's
/// head row is updated only while it still holds the version and hash the chain was built on
/// (after waiting for a concurrent writer's commit, PostgreSQL re-checks the condition against
/// the row that writer left). Events are inserted only for the streams whose head row was
/// written, so each stream is written whole or not at all, in the same commit as everything
/// else. A stream that was not written (its head was not what this process believed: another
/// replica appended, a duplicate submission) goes to the locked transaction of
/// `PostgresGroupCommitter`, which reports the conflict or appends on the true head.
///
/// Durability is unchanged: the statement commits like any other (`synchronous_commit` as the
/// connection sets it), and it is acknowledged only after that commit.
///
/// Lock order, as in the locked transaction: the head rows of known streams are locked first
/// (in stream order), new heads are inserted next (in stream order), the append lock last,
/// so positions become visible in order (`PostgresEventStore.appendLockKey`).
struct PostgresOneStatementAppend {
    /// The requests whose stream could be planned, by stream, with their outcomes if the
    /// stream is written (a request whose expected version does not follow its stream's
    /// earlier requests fails alone, as in the locked transaction).
    struct PlannedStream {
        var stream: String
        var isNew: Bool
        var baseVersion: Int64
        var baseHash: String
        var finalVersion: Int64
        var finalHash: String
        var finalType: String
        var requestIndices: [Int]
        var outcomes: [Result<[StoredEvent], any Error>]
    }

    var planned: [PlannedStream] = []
    /// Indices of requests whose stream's head is not known: the locked transaction writes them.
    var unplanned: [Int] = []
    var events: [StoredEvent] = []
    var queuedTasks: [(taskID: String, task: PostgresGroupCommitter.QueuedTask)] = []
    let now: Int64

    /// Plans `requests` on the heads this process knows (`knownHeads`: stream → version, hash).
    init(_ requests: [PostgresGroupCommitter.Request], knownHeads: [String: (version: Int64, hash: String)], now: Int64) {
        self.now = now
        var order: [String] = []
        var byStream: [String: [Int]] = [:]
        for (index, request) in requests.enumerated() {
            if byStream[request.stream] == nil { order.append(request.stream) }
            byStream[request.stream, default: []].append(index)
        }
        for stream in order {
            let indices = byStream[stream] ?? []
            guard let first = indices.first.map({ requests[$0] }) else { continue }
            let base: (version: Int64, hash: String, isNew: Bool)
            if let known = knownHeads[stream], first.expectedVersion == nil || first.expectedVersion == known.version {
                base = (known.version, known.hash, false)
            } else if knownHeads[stream] == nil, first.expectedVersion == 0 {
                base = (0, EventHashChain.genesis, true)
            } else {
                // Expecting another version than the one this process wrote: let the locked
                // transaction tell a conflict from a head that moved on elsewhere.
                unplanned += indices
                continue
            }
            var version = base.version
            var previous = base.hash
            var lastType = ""
            var outcomes: [Result<[StoredEvent], any Error>] = []
            var streamEvents: [StoredEvent] = []
            var streamQueued: [(taskID: String, task: PostgresGroupCommitter.QueuedTask)] = []
            var overflowed = false
            for index in indices {
                let request = requests[index]
                if let expected = request.expectedVersion, expected != version {
                    outcomes.append(.failure(EventStoreError.versionConflict(stream: stream, expected: expected, actual: version)))
                    continue
                }
                var stored: [StoredEvent] = []
                for event in request.events {
                    let (next, overflow) = version.addingReportingOverflow(1)
                    if overflow { overflowed = true; break }
                    version = next
                    let hash = EventHashChain.hash(previous: previous, stream: stream, version: version, type: event.type,
                                                   recordedAt: now, payload: event.payload)
                    stored.append(StoredEvent(stream: stream, version: version, globalPosition: 0, type: event.type,
                                              payload: event.payload, recordedAtMicroseconds: now, hash: hash, previousHash: previous))
                    previous = hash
                    lastType = event.type
                }
                if overflowed { break }
                streamEvents += stored
                if let queued = request.queued { streamQueued.append((stream, queued)) }
                outcomes.append(.success(stored))
            }
            // No events (or a stream at its last version): nothing would verify the head, so
            // the locked transaction decides, as it always did.
            guard !overflowed, !streamEvents.isEmpty else {
                unplanned += indices
                continue
            }
            planned.append(PlannedStream(stream: stream, isNew: base.isNew, baseVersion: base.version, baseHash: base.hash,
                                         finalVersion: version, finalHash: previous, finalType: lastType,
                                         requestIndices: indices, outcomes: outcomes))
            events += streamEvents
            queuedTasks += streamQueued
        }
    }

    /// Global positions of the events written, by stream and version; a planned stream with
    /// none was not written (its head was not the one planned on).
    func write(on client: PostgresDatabasePool, logger: Logger) async throws -> [String: [Int64: Int64]] {
        let new = planned.filter(\.isNew).sorted { $0.stream < $1.stream }
        let known = planned.filter { !$0.isNew }.sorted { $0.stream < $1.stream }
        // The notification names each written stream's version unless the list could pass
        // PostgreSQL's 8000-byte payload limit; a listener then reads from its last position.
        let namesStreams = planned.reduce(0) { $0 + min($1.stream.utf8.count, 10_000) * 6 + 24 } <= 6_000
        let statement = Statement(
            knownStreams: known.map(\.stream), newStreams: new.map(\.stream), newVersions: new.map(\.finalVersion),
            newHashes: new.map(\.finalHash), newTypes: new.map(\.finalType), now: now,
            knownBaseVersions: known.map(\.baseVersion), knownBaseHashes: known.map(\.baseHash),
            knownVersions: known.map(\.finalVersion), knownHashes: known.map(\.finalHash), knownTypes: known.map(\.finalType),
            eventStreams: events.map(\.stream), eventVersions: events.map(\.version), eventTypes: events.map(\.type),
            eventPayloads: events.map { ByteBuffer(bytes: $0.payload) }, eventHashes: events.map(\.hash),
            eventPreviousHashes: events.map(\.previousHash), queuedIDs: queuedTasks.map(\.taskID),
            queuedOwners: queuedTasks.map { $0.task.owner ?? "" }, queuedHasOwner: queuedTasks.map { $0.task.owner != nil },
            namesStreams: namesStreams, queuedHolders: queuedTasks.map { $0.task.lease?.holder ?? "" },
            queuedLeaseMilliseconds: queuedTasks.map { $0.task.lease?.milliseconds ?? 0 })
        let rows = try await client.execute(statement, logger: logger)
        var positions: [String: [Int64: Int64]] = [:]
        for (stream, version, position) in rows {
            positions[stream, default: [:]][version] = position
        }
        for stream in planned {
            guard let written = positions[stream.stream] else { continue }
            let expected = stream.finalVersion - stream.baseVersion
            guard Int64(written.count) == expected else {
                throw PostgresStorageError(.server, "the database recorded \(written.count) of \(expected) events of stream '\(stream.stream)'")
            }
        }
        return positions
    }

    /// The statement, prepared (parsed and planned once per connection, not per batch).
    struct Statement: PostgresPreparedStatement {
        typealias Row = (String, Int64, Int64)

        static let sql = """
            WITH locked AS MATERIALIZED (
                SELECT stream FROM ares_event_streams WHERE stream = ANY($1::text[]) ORDER BY stream FOR UPDATE
            ), created AS (
                INSERT INTO ares_event_streams (stream, version, last_hash, last_type, last_recorded_at)
                SELECT n.stream, n.version, n.hash, n.type, $6
                FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[]) AS n(stream, version, hash, type)
                WHERE (SELECT count(*) FROM locked) >= 0
                ORDER BY n.stream
                ON CONFLICT (stream) DO NOTHING
                RETURNING stream, version
            ), advanced AS (
                UPDATE ares_event_streams AS s SET version = u.version, last_hash = u.hash, last_type = u.type, last_recorded_at = $6
                FROM unnest($1::text[], $7::bigint[], $8::text[], $9::bigint[], $10::text[], $11::text[])
                    AS u(stream, base_version, base_hash, version, hash, type)
                WHERE s.stream = u.stream AND s.version = u.base_version AND s.last_hash = u.base_hash
                  AND (SELECT count(*) FROM locked) >= 0
                RETURNING s.stream, s.version
            ), written AS (
                SELECT stream, version FROM created UNION ALL SELECT stream, version FROM advanced
            ), append_lock AS MATERIALIZED (
                -- After every head row above (the count needs them all): the lock order of the locked transaction.
                SELECT pg_advisory_xact_lock($12) AS held FROM (SELECT count(*) FROM written) AS heads
            ), inserted AS (
                INSERT INTO ares_events (stream, version, type, payload, recorded_at, hash, previous_hash)
                SELECT e.stream, e.version, e.type, e.payload, $6, e.hash, e.previous_hash
                FROM unnest($13::text[], $14::bigint[], $15::text[], $16::bytea[], $17::text[], $18::text[])
                    AS e(stream, version, type, payload, hash, previous_hash)
                    CROSS JOIN append_lock
                WHERE e.stream IN (SELECT stream FROM written)
                RETURNING stream, version, position
            ), queued AS (
                \(PostgresTaskQueue.insertQueuedRows)
                FROM unnest($19::text[], $20::text[], $21::bool[], $23::text[], $24::bigint[]) \(PostgresTaskQueue.queuedRowsAlias)
                WHERE q.task_id IN (SELECT stream FROM written)
                ON CONFLICT (task_id) DO NOTHING
            ), notified AS (
                SELECT pg_notify('ares_events', json_build_object(
                    'position', (SELECT max(position) FROM inserted),
                    'streams', CASE WHEN $22 THEN (SELECT json_object_agg(stream, version) FROM written) END)::text) AS sent
                WHERE EXISTS (SELECT 1 FROM inserted)
            )
            SELECT i.stream, i.version, i.position FROM inserted i CROSS JOIN notified
            """

        var knownStreams: [String]
        var newStreams: [String]
        var newVersions: [Int64]
        var newHashes: [String]
        var newTypes: [String]
        var now: Int64
        var knownBaseVersions: [Int64]
        var knownBaseHashes: [String]
        var knownVersions: [Int64]
        var knownHashes: [String]
        var knownTypes: [String]
        var eventStreams: [String]
        var eventVersions: [Int64]
        var eventTypes: [String]
        var eventPayloads: [ByteBuffer]
        var eventHashes: [String]
        var eventPreviousHashes: [String]
        var queuedIDs: [String]
        var queuedOwners: [String]
        var queuedHasOwner: [Bool]
        var namesStreams: Bool
        var queuedHolders: [String]
        var queuedLeaseMilliseconds: [Int64]

        /// In the order of the placeholders $1 … $24 above.
        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 24)
            bindings.append(knownStreams)
            bindings.append(newStreams)
            bindings.append(newVersions)
            bindings.append(newHashes)
            bindings.append(newTypes)
            bindings.append(now)
            bindings.append(knownBaseVersions)
            bindings.append(knownBaseHashes)
            bindings.append(knownVersions)
            bindings.append(knownHashes)
            bindings.append(knownTypes)
            bindings.append(PostgresEventStore.appendLockKey)
            bindings.append(eventStreams)
            bindings.append(eventVersions)
            bindings.append(eventTypes)
            bindings.append(eventPayloads)
            bindings.append(eventHashes)
            bindings.append(eventPreviousHashes)
            bindings.append(queuedIDs)
            bindings.append(queuedOwners)
            bindings.append(queuedHasOwner)
            bindings.append(namesStreams)
            bindings.append(queuedHolders)
            bindings.append(queuedLeaseMilliseconds)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            try row.decode(Row.self)
        }
    }
}
