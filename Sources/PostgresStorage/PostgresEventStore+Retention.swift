import Foundation
import Logging
import NIOCore
import PostgresNIO
import Storage

/// Retention on the shared database (`ares serve --retention`, `ares tasks prune`): the
/// contract of `SQLiteEventStore.prune`, for every replica at once.
///
/// Each batch is one transaction. The head rows of the requested streams and of
/// `ares-retention` are locked in stream order (`FOR UPDATE`: the appends' lock order, so a
/// prune and an append cannot deadlock). A stream still at its expected version loses its
/// events and head and keeps a checkpoint in `ares_pruned_streams`; the batch appends one
/// `StreamsPruned` event to `ares-retention` under the append lock, with the commit's
/// notification, so other replicas learn from the change feed which tasks went
/// (`TaskChangeFollower` forgets them). Replicas pruning at the same time never remove a
/// stream twice: the second waits for the first's commit, finds the head gone and skips it.
///
/// Space: autovacuum makes the deleted rows' space reusable for new events. The sizes
/// reported are the event tables' (`pg_total_relation_size`), which shrink only when a vacuum
/// can give back free pages at their end.
extension PostgresEventStore {
    public func prune(_ requests: [PruneRequest]) async throws -> PruneOutcome {
        do {
            let before = try await eventTableBytes()
            var pruned: [PrunedStream] = []
            var skipped: [String] = []
            var start = requests.startIndex
            while start < requests.endIndex {
                let end = min(start + SQLiteEventStore.pruneBatch, requests.endIndex)
                let (removed, kept) = try await pruneBatch(Array(requests[start..<end]))
                pruned += removed
                skipped += kept
                start = end
            }
            return PruneOutcome(pruned: pruned, skipped: skipped, bytesBefore: before, bytesAfter: try await eventTableBytes())
        } catch let error as EventStoreError {
            throw error
        } catch {
            throw PostgresStorageError.describing(error, settings: settings)
        }
    }

    /// One transaction: the streams of `requests` still at their expected versions removed,
    /// their checkpoints kept and recorded.
    private func pruneBatch(_ requests: [PruneRequest]) async throws -> (removed: [PrunedStream], kept: [String]) {
        var chosen: [PruneRequest] = []
        var seen = Set<String>()
        var duplicates: [String] = []
        for request in requests {
            // The retention stream anchors every checkpoint; a stream asked for twice is removed once.
            guard request.stream != RetentionRecord.stream, !request.stream.contains("\0"), seen.insert(request.stream).inserted else {
                duplicates.append(request.stream)
                continue
            }
            chosen.append(request)
        }
        guard !chosen.isEmpty else { return ([], duplicates) }
        let requests = chosen, skippedFirst = duplicates
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        return try await client.withConnection { connection in
            try await PostgresTransaction.run(on: connection, logger: self.logger) { connection in
                let logger = self.logger
                // The retention stream's head at version 0 if it has none yet ("not a stream
                // yet", as an append leaves a new stream's), so that it can be locked below.
                try await connection.query("""
                    INSERT INTO ares_event_streams (stream, version, last_hash, last_type, last_recorded_at)
                    VALUES (\(RetentionRecord.stream), 0, \(EventHashChain.genesis), '', 0) ON CONFLICT (stream) DO NOTHING
                    """, logger: logger)
                let locked = ([RetentionRecord.stream] + requests.map(\.stream)).sorted()
                var heads: [String: (version: Int64, hash: String)] = [:]
                for try await (stream, version, hash) in try await connection.query("""
                    SELECT stream, version, last_hash FROM ares_event_streams WHERE stream = ANY(\(locked)::text[])
                    ORDER BY stream FOR UPDATE
                    """, logger: logger).decode((String, Int64, String).self) {
                    heads[stream] = (version, hash)
                }
                var removed: [PrunedStream] = []
                var kept = skippedFirst
                for request in requests {
                    guard let head = heads[request.stream], head.version > 0, head.version == request.expectedVersion else {
                        kept.append(request.stream)
                        continue
                    }
                    removed.append(PrunedStream(stream: request.stream, version: head.version, headHash: head.hash,
                                                summary: request.summary, prunedAtMicroseconds: now))
                }
                guard !removed.isEmpty, let retention = heads[RetentionRecord.stream] else { return (removed: [], kept: kept) }
                let (version, overflow) = retention.version.addingReportingOverflow(1)
                guard !overflow else { throw EventStoreError.invalid("the \(RetentionRecord.stream) stream is at its last version") }
                let streams = removed.map(\.stream)
                try await connection.query("""
                    WITH events AS (
                        DELETE FROM ares_events WHERE stream = ANY(\(streams)::text[])
                    ), heads AS (
                        DELETE FROM ares_event_streams WHERE stream = ANY(\(streams)::text[])
                    )
                    INSERT INTO ares_pruned_streams (stream, version, last_hash, summary, pruned_at)
                    SELECT * FROM unnest(\(streams)::text[], \(removed.map(\.version))::bigint[], \(removed.map(\.headHash))::text[],
                                         \(removed.map { ByteBuffer(bytes: $0.summary) })::bytea[], \(removed.map(\.prunedAtMicroseconds))::bigint[])
                    ON CONFLICT (stream) DO UPDATE SET version = excluded.version, last_hash = excluded.last_hash,
                        summary = excluded.summary, pruned_at = excluded.pruned_at
                    """, logger: logger)
                // The record, in the same commit: never a removal without it, nor a record of a
                // removal that did not happen. Under the append lock, like every append, so the
                // change feed sees positions in order.
                let payload = try RetentionRecord(removed).encoded()
                let hash = EventHashChain.hash(previous: retention.hash, stream: RetentionRecord.stream, version: version,
                                               type: RetentionRecord.eventType, recordedAt: now, payload: payload)
                try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresEventStore.appendLockKey))", logger: logger)
                var inserted: Int64 = 0
                for try await count in try await connection.query("""
                    WITH inserted AS (
                        INSERT INTO ares_events (stream, version, type, payload, recorded_at, hash, previous_hash)
                        VALUES (\(RetentionRecord.stream), \(version), \(RetentionRecord.eventType), \(ByteBuffer(bytes: payload)), \(now),
                                \(hash), \(retention.hash))
                        RETURNING position
                    ), advanced AS (
                        UPDATE ares_event_streams SET version = \(version), last_hash = \(hash), last_type = \(RetentionRecord.eventType),
                            last_recorded_at = \(now)
                        WHERE stream = \(RetentionRecord.stream)
                    ), notified AS (
                        SELECT pg_notify(\(PostgresEventStore.notificationChannel), json_build_object(
                            'position', (SELECT max(position) FROM inserted),
                            'streams', json_build_object(\(RetentionRecord.stream)::text, \(version)::bigint))::text)
                    )
                    SELECT count(*) FROM inserted CROSS JOIN notified
                    """, logger: logger).decode(Int64.self) {
                    inserted = count
                }
                guard inserted == 1 else { throw PostgresStorageError(.server, "the database did not record the retention event") }
                return (removed: removed, kept: kept)
            }
        }
    }

    /// The checkpoint and summary of a pruned stream; nil when `stream` was not pruned.
    public func prunedStream(_ stream: String) async throws -> PrunedStream? {
        try await prunedStreams(where: "stream = $1", stream).first
    }

    /// Every pruned stream whose name starts with `prefix`, most recently pruned first.
    public func prunedStreams(prefix: String) async throws -> [PrunedStream] {
        // A range on the "C"-collated key instead of LIKE: no escaping of % and _ in the prefix.
        try await prunedStreams(where: "stream >= $1 AND starts_with(stream, $1)", prefix)
    }

    private func prunedStreams(where condition: String, _ argument: String) async throws -> [PrunedStream] {
        do {
            var bindings = PostgresBindings(capacity: 1)
            bindings.append(argument)
            let rows = try await client.query(PostgresQuery(unsafeSQL: """
                SELECT stream, version, last_hash, summary, pruned_at FROM ares_pruned_streams WHERE \(condition)
                ORDER BY pruned_at DESC, stream
                """, binds: bindings), logger: logger)
            var pruned: [PrunedStream] = []
            for try await (stream, version, hash, summary, prunedAt) in rows.decode((String, Int64, String, Data, Int64).self) {
                pruned.append(PrunedStream(stream: stream, version: version, headHash: hash, summary: summary, prunedAtMicroseconds: prunedAt))
            }
            return pruned
        } catch {
            throw PostgresStorageError.describing(error, settings: settings)
        }
    }

    /// Every checkpoint checked against the `ares-retention` records (`records`: that stream's
    /// events, read by `verify`). A database whose schema predates retention has none.
    func verifyPrunedStreams(records: [(version: Int64, payload: Data)]) async throws -> PrunedStreamVerification.Result {
        var present = false
        for try await exists in try await client.query("SELECT to_regclass('ares_pruned_streams') IS NOT NULL", logger: logger).decode(Bool.self) {
            present = exists
        }
        guard present else { return PrunedStreamVerification.check(records: records, checkpoints: []) }
        return PrunedStreamVerification.check(records: records, checkpoints: try await prunedStreams(prefix: ""))
    }

    /// Bytes the event tables take (with their indexes and TOAST).
    private func eventTableBytes() async throws -> Int64 {
        var bytes: Int64 = 0
        for try await total in try await client.query("""
            SELECT pg_total_relation_size('ares_events') + pg_total_relation_size('ares_event_streams')
            """, logger: logger).decode(Int64.self) {
            bytes = total
        }
        return bytes
    }
}
