import Foundation
import Logging
import NIOCore
import PostgresNIO
import Security
import Storage

/// The writes `ares db import` makes into the shared database that the stores themselves never
/// make: events inserted with the hashes, versions and times they were recorded with (an
/// append would chain them anew), API keys with their digests and revocation times, and the
/// ingest times of copied documents. Everything else goes through the stores
/// (`PostgresDocumentStore.write`, its snapshot), so the copied data is exactly what ares
/// itself would have written.
///
/// Every write is idempotent or checked: an event run is inserted only if it continues the
/// stream's head exactly (same version and hash), a key only if its id is free; so an import
/// that stopped half-way is resumed by running it again.
public struct PostgresImportTarget: Sendable {
    /// The `ares_knowledge_meta` key that records which data directory was imported, when it
    /// began and whether it finished: what lets a second run resume rather than refuse.
    public static let markerKey = "imported-from"

    private let client: PostgresDatabasePool
    private let settings: DatabaseSettings
    private let logger: Logger

    public init(database: PostgresDatabase) {
        client = database.pool
        settings = database.settings
        logger = database.logger
    }

    /// How much ares data the database holds.
    public struct Contents: Sendable, Equatable {
        public var streams: Int
        public var documents: Int
        public var apiKeys: Int
        public var isEmpty: Bool { streams == 0 && documents == 0 && apiKeys == 0 }
    }

    public func contents() async throws -> Contents {
        try await describingErrors {
            let rows = try await client.query("""
                SELECT (SELECT count(*) FROM ares_event_streams WHERE version > 0), (SELECT count(*) FROM ares_documents),
                       (SELECT count(*) FROM ares_api_keys)
                """, logger: logger)
            for try await (streams, documents, keys) in rows.decode((Int64, Int64, Int64).self) {
                return Contents(streams: Int(clamping: streams), documents: Int(clamping: documents), apiKeys: Int(clamping: keys))
            }
            return Contents(streams: 0, documents: 0, apiKeys: 0)
        }
    }

    /// The version and head hash of each of `streams` the database holds (streams it does not
    /// hold, or holds at version 0 from an append that never committed, are absent).
    public func heads(of streams: [String]) async throws -> [String: (version: Int64, hash: String)] {
        guard !streams.isEmpty else { return [:] }
        return try await describingErrors {
            let rows = try await client.query("""
                SELECT stream, version, last_hash FROM ares_event_streams WHERE stream = ANY(\(streams)::text[]) AND version > 0
                """, logger: logger)
            var heads: [String: (version: Int64, hash: String)] = [:]
            for try await (stream, version, hash) in rows.decode((String, Int64, String).self) { heads[stream] = (version, hash) }
            return heads
        }
    }

    /// The hash of `stream`'s event at `version`, nil when there is none.
    public func hash(of stream: String, at version: Int64) async throws -> String? {
        try await describingErrors {
            let rows = try await client.query(
                "SELECT hash FROM ares_events WHERE stream = \(stream) AND version = \(version)", logger: logger)
            for try await hash in rows.decode(String.self) { return hash }
            return nil
        }
    }

    /// A stream the database holds in another form than the run to insert expects.
    public struct HeadMismatch: Error, CustomStringConvertible, Sendable {
        public var stream: String
        public var detail: String
        public var description: String { "stream \(stream): \(detail)" }
    }

    /// Inserts runs of already-chained events, each run the continuation of one stream (its
    /// first event's version one after the stream's head in the database, its previous-hash
    /// the head's hash; a stream the database lacks starts at version 1 from the genesis
    /// hash), in one transaction: all of them or none. Each event keeps its version, type,
    /// payload, recording time and hashes; only the global position is new (it is not hashed).
    /// Throws `HeadMismatch` when a run does not continue its stream, so nothing is written
    /// twice and no chain is forked. Takes the append lock as appends do (positions become
    /// visible in order for the change feed) and sends the one notification per commit.
    public func insertChained(_ runs: [[StoredEvent]]) async throws {
        let runs = runs.filter { !$0.isEmpty }
        guard !runs.isEmpty else { return }
        var streams: [String] = []
        for run in runs {
            guard let stream = run.first?.stream, run.allSatisfy({ $0.stream == stream }) else {
                throw HeadMismatch(stream: run.first?.stream ?? "?", detail: "a run of events to import mixes streams")
            }
            streams.append(stream)
        }
        guard Set(streams).count == streams.count else {
            throw HeadMismatch(stream: streams.first ?? "?", detail: "two runs of events to import continue the same stream")
        }
        let sortedStreams = streams.sorted()
        try await describingErrors {
            try await client.withConnection { connection in
                try await PostgresTransaction.run(on: connection, logger: logger) { connection in
                    // Missing heads first (version 0), then every head locked in stream order, as
                    // the group committer does: the import and live appends cannot deadlock.
                    try await connection.query("""
                        INSERT INTO ares_event_streams (stream, version, last_hash, last_type, last_recorded_at)
                        SELECT s, 0, \(EventHashChain.genesis), '', 0 FROM unnest(\(sortedStreams)::text[]) AS s ORDER BY s
                        ON CONFLICT (stream) DO NOTHING
                        """, logger: logger)
                    var heads: [String: (version: Int64, hash: String)] = [:]
                    for try await (stream, version, hash) in try await connection.query("""
                        SELECT stream, version, last_hash FROM ares_event_streams WHERE stream = ANY(\(sortedStreams)::text[])
                        ORDER BY stream FOR UPDATE
                        """, logger: logger).decode((String, Int64, String).self) {
                        heads[stream] = (version, hash)
                    }
                    for run in runs {
                        guard let first = run.first, let last = run.last, let head = heads[first.stream] else { continue }
                        let (expected, overflow) = head.version.addingReportingOverflow(1)
                        guard !overflow, first.version == expected, first.previousHash == head.hash else {
                            throw HeadMismatch(stream: first.stream, detail: "the database holds it at version \(head.version), "
                                               + "which the data directory's version \(first.version) does not continue")
                        }
                        heads[first.stream] = (last.version, last.hash)
                    }
                    try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresEventStore.appendLockKey))", logger: logger)
                    try await insert(runs.flatMap { $0 }, on: connection)
                }
            }
        }
    }

    /// The events and the advanced heads in one statement, with the commit's notification.
    private func insert(_ events: [StoredEvent], on connection: PostgresConnection) async throws {
        var lasts: [String: StoredEvent] = [:]
        for event in events where (lasts[event.stream]?.version ?? Int64.min) < event.version { lasts[event.stream] = event }
        let advanced = lasts.keys.sorted()
        let heads = advanced.compactMap { lasts[$0] }
        let versions = Dictionary(uniqueKeysWithValues: heads.map { ($0.stream, $0.version) })
        // The payload `PostgresEventStore.notificationChannel` listeners expect; without the
        // streams when they would not fit PostgreSQL's 8000 bytes (listeners then read on).
        var streamVersions = "null"
        if let data = try? JSONSerialization.data(withJSONObject: versions, options: [.sortedKeys]), data.count <= 6_000 {
            streamVersions = String(decoding: data, as: UTF8.self)
        }
        let rows = try await connection.query("""
            WITH inserted AS (
                INSERT INTO ares_events (stream, version, type, payload, recorded_at, hash, previous_hash)
                SELECT e.stream, e.version, e.type, e.payload, e.recorded_at, e.hash, e.previous_hash
                FROM unnest(\(events.map(\.stream))::text[], \(events.map(\.version))::bigint[], \(events.map(\.type))::text[],
                            \(events.map { ByteBuffer(bytes: $0.payload) })::bytea[], \(events.map(\.recordedAtMicroseconds))::bigint[],
                            \(events.map(\.hash))::text[], \(events.map(\.previousHash))::text[])
                    AS e(stream, version, type, payload, recorded_at, hash, previous_hash)
                RETURNING position
            ), advanced AS (
                UPDATE ares_event_streams AS s
                SET version = u.version, last_hash = u.hash, last_type = u.type, last_recorded_at = u.recorded_at
                FROM unnest(\(heads.map(\.stream))::text[], \(heads.map(\.version))::bigint[], \(heads.map(\.hash))::text[],
                            \(heads.map(\.type))::text[], \(heads.map(\.recordedAtMicroseconds))::bigint[])
                    AS u(stream, version, hash, type, recorded_at)
                WHERE s.stream = u.stream
            ), notified AS (
                SELECT pg_notify('ares_events', json_build_object('position', (SELECT max(position) FROM inserted),
                                                                 'streams', \(streamVersions)::json)::text)
            )
            SELECT count(*) FROM inserted CROSS JOIN notified
            """, logger: logger)
        var inserted: Int64 = 0
        for try await count in rows.decode(Int64.self) { inserted = count }
        guard inserted == Int64(events.count) else {
            throw PostgresStorageError(.server, "the database recorded \(inserted) of \(events.count) imported events")
        }
    }

    /// Inserts the checkpoints and summaries of streams removed by retention as they are (their
    /// records are in the imported `ares-retention` stream, which `verify` checks them against).
    /// A stream whose checkpoint the database holds already is left as it is; returns how many
    /// were inserted.
    public func insertPrunedStreams(_ pruned: [PrunedStream]) async throws -> Int {
        guard !pruned.isEmpty else { return 0 }
        return try await describingErrors {
            var inserted: Int64 = 0
            for try await count in try await client.query("""
                WITH inserted AS (
                    INSERT INTO ares_pruned_streams (stream, version, last_hash, summary, pruned_at)
                    SELECT * FROM unnest(\(pruned.map(\.stream))::text[], \(pruned.map(\.version))::bigint[],
                                         \(pruned.map(\.headHash))::text[], \(pruned.map { ByteBuffer(bytes: $0.summary) })::bytea[],
                                         \(pruned.map(\.prunedAtMicroseconds))::bigint[])
                    ON CONFLICT (stream) DO NOTHING RETURNING 1
                )
                SELECT count(*) FROM inserted
                """, logger: logger).decode(Int64.self) {
                inserted = count
            }
            return Int(clamping: inserted)
        }
    }

    /// Inserts the keys whose ids the database does not hold (digest, role, name and times as
    /// they are), and records the revocation of those revoked in `keys` but not yet in the
    /// database. Returns how many were inserted and how many revocations were recorded (of
    /// keys inserted revoked, and of keys held and now revoked).
    public func insertKeys(_ keys: [StoredAPIKey]) async throws -> (inserted: Int, revoked: Int) {
        guard !keys.isEmpty else { return (0, 0) }
        return try await describingErrors {
            var inserted: Int64 = 0, revocations: Int64 = 0
            // Arrays of a nullable type are not encodable: "not revoked" travels as 0 and is
            // stored as NULL, in the same statement (a replica never sees a half-made key).
            for try await count in try await client.query("""
                WITH inserted AS (
                    INSERT INTO ares_api_keys (id, name, role, secret_digest, created_at, revoked_at)
                    SELECT u.id, u.name, u.role, u.digest, u.created_at, NULLIF(u.revoked_at, 0)
                    FROM unnest(\(keys.map(\.id))::text[], \(keys.map(\.name))::text[], \(keys.map(\.role.rawValue))::text[],
                                \(keys.map { ByteBuffer(bytes: $0.secretDigest) })::bytea[],
                                \(keys.map { Self.microseconds($0.createdAt) })::bigint[],
                                \(keys.map { $0.revokedAt.map(Self.microseconds) ?? 0 })::bigint[])
                        AS u(id, name, role, digest, created_at, revoked_at)
                    ON CONFLICT (id) DO NOTHING RETURNING revoked_at IS NOT NULL AS revoked
                )
                SELECT count(*), count(*) FILTER (WHERE revoked) FROM inserted
                """, logger: logger).decode((Int64, Int64).self) {
                inserted = count.0
                revocations = count.1
            }
            let revoked = keys.filter { $0.revokedAt != nil }
            if !revoked.isEmpty {
                for try await count in try await client.query("""
                    WITH revoked AS (
                        UPDATE ares_api_keys k SET revoked_at = u.revoked_at, revision = nextval('ares_api_key_revision')
                        FROM unnest(\(revoked.map(\.id))::text[], \(revoked.map { $0.revokedAt.map(Self.microseconds) ?? 0 })::bigint[])
                            AS u(id, revoked_at)
                        WHERE k.id = u.id AND k.revoked_at IS NULL RETURNING 1
                    )
                    SELECT count(*) FROM revoked
                    """, logger: logger).decode(Int64.self) {
                    revocations += count
                }
            }
            return (Int(clamping: inserted), Int(clamping: revocations))
        }
    }

    /// Sets the ingest time of each copied document to the one it had in the data directory.
    public func setIngestedAt(_ times: [(source: String, ingestedAt: Double)]) async throws {
        guard !times.isEmpty else { return }
        _ = try await describingErrors {
            try await client.query("""
                UPDATE ares_documents d SET ingested_at = u.ingested_at
                FROM unnest(\(times.map(\.source))::text[], \(times.map(\.ingestedAt))::float8[]) AS u(source, ingested_at)
                WHERE d.source = u.source
                """, logger: logger)
        }
    }

    private func describingErrors<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as HeadMismatch {
            throw error
        } catch {
            throw PostgresStorageError.describing(error, settings: settings)
        }
    }

    private static func microseconds(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1_000_000).rounded()
        return value.isFinite && abs(value) < 9e18 ? Int64(value) : 0
    }
}
