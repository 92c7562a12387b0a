import Foundation
import GRDB
import Synchronization

/// The embedded event store: one SQLite file (GRDB, WAL, synchronous=FULL).
///
/// Appends are group-committed: concurrent `append` calls queue up while a transaction is
/// being written, and the next transaction writes all of them with one fsync. Each request
/// runs in its own savepoint, so one caller's version conflict fails that caller only.
public final class SQLiteEventStore: EventStore {
    public static let maximumStreamLength = 200
    public static let maximumTypeLength = 100
    public static let maximumPayloadBytes = 1 << 20
    public static let maximumBatch = 1000

    let pool: DatabasePool
    private let committer: GroupCommitter
    /// Whether the last write committed; readiness reports it (see `StorageWritability`).
    public let storageWritability: StorageWritability
    public var writability: StorageWritability? { storageWritability }
    /// Who may hold appends back (continuous backup's bounded RPO); nil: appends go straight in.
    private let admission = Mutex<(any AppendAdmission)?>(nil)

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "ares.events"
        try Self.createWithIncrementalVacuum(path)
        pool = try DatabasePool(path: path, configuration: configuration)
        // FULL: a commit returns only once the WAL is synced, so an acknowledged append survives
        // power loss. Set on the writer connection after the pool opens: GRDB switches a WAL
        // pool to NORMAL while opening it, which would override a setting made earlier.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-events") { db in
            try db.execute(sql: """
                CREATE TABLE event (
                    globalPosition INTEGER PRIMARY KEY AUTOINCREMENT,
                    stream TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    type TEXT NOT NULL,
                    payload BLOB NOT NULL,
                    recordedAt INTEGER NOT NULL,
                    hash TEXT NOT NULL,
                    previousHash TEXT NOT NULL,
                    UNIQUE (stream, version)
                );
                CREATE TABLE stream (
                    id TEXT PRIMARY KEY,
                    version INTEGER NOT NULL,
                    lastHash TEXT NOT NULL,
                    lastType TEXT NOT NULL,
                    lastRecordedAt INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2-retention") { db in
            // A pruned stream's checkpoint: its last version and head hash when it was removed,
            // and a summary of what it was. `ares-retention` events record the same values
            // (hash-chained), so a changed or removed checkpoint is found by `verify`.
            try db.execute(sql: """
                CREATE TABLE prunedStream (
                    id TEXT PRIMARY KEY,
                    version INTEGER NOT NULL,
                    lastHash TEXT NOT NULL,
                    summary BLOB NOT NULL,
                    prunedAt INTEGER NOT NULL
                );
                CREATE TABLE writeProbe (id INTEGER PRIMARY KEY, at INTEGER NOT NULL);
                """)
        }
        try migrator.migrate(pool)
        storageWritability = StorageWritability(directory: (path as NSString).deletingLastPathComponent) { [pool] in
            // One tiny committed row: proves space for a page in the WAL and a sync.
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO writeProbe(id, at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at",
                               arguments: [Int64(Date().timeIntervalSince1970)])
            }
        }
        committer = GroupCommitter(pool: pool, writability: storageWritability)
    }

    /// A new file gives the pages of pruned tasks back to the file system (`prune` runs an
    /// incremental vacuum). The mode is chosen before the file is first written and before WAL
    /// is on (SQLite ignores a change in WAL mode); an older file keeps its mode, and SQLite
    /// reuses its freed pages for new events instead, so it stops growing but does not shrink.
    private static func createWithIncrementalVacuum(_ path: String) throws {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
        guard size == nil || size == 0 else { return }
        var configuration = Configuration()
        configuration.label = "ares.events.create"
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
            // Writes the header with the mode while the file has no table yet.
            try db.execute(sql: "VACUUM")
        }
        try queue.close()
    }

    public func append(_ events: [NewEvent], to stream: String, expectedVersion: Int64? = nil) async throws -> [StoredEvent] {
        try Self.validate(events, stream: stream)
        // Waits before the write, not after: a refusal then leaves nothing written, so the
        // retryable error is the whole truth (a write refused after its commit would be retried
        // by the client and recorded twice).
        guard let admission = admission.withLock({ $0 }) else {
            return try await committer.append(AppendRequest(stream: stream, events: events, expectedVersion: expectedVersion))
        }
        try await admission.admit()
        defer { admission.committed() }
        return try await committer.append(AppendRequest(stream: stream, events: events, expectedVersion: expectedVersion))
    }

    /// Makes every later append ask `admission` first (`ares serve --backup-to`).
    public func holdAppends(for admission: any AppendAdmission) {
        self.admission.withLock { $0 = admission }
    }

    package static func validate(_ events: [NewEvent], stream: String) throws {
        guard !stream.isEmpty, stream.count <= maximumStreamLength else {
            throw EventStoreError.invalid("a stream id must have 1 to \(maximumStreamLength) characters (got \(stream.count))")
        }
        guard !events.isEmpty, events.count <= maximumBatch else {
            throw EventStoreError.invalid("an append takes 1 to \(maximumBatch) events (got \(events.count))")
        }
        for event in events {
            guard !event.type.isEmpty, event.type.count <= maximumTypeLength else {
                throw EventStoreError.invalid("an event type must have 1 to \(maximumTypeLength) characters (got '\(event.type.prefix(120))')")
            }
            guard event.payload.count <= maximumPayloadBytes else {
                throw EventStoreError.invalid("an event payload is at most \(maximumPayloadBytes) bytes (got \(event.payload.count))")
            }
        }
    }

    public func read(stream: String) async throws -> [StoredEvent] {
        try await read(stream: stream, afterVersion: 0)
    }

    public func read(stream: String, afterVersion version: Int64) async throws -> [StoredEvent] {
        try await pool.read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT globalPosition, version, type, payload, recordedAt, hash, previousHash
                FROM event WHERE stream = ? AND version > ? ORDER BY version
                """)
            var events: [StoredEvent] = []
            let rows = try Row.fetchCursor(statement, arguments: [stream, version])
            // `decode` throws on a NULL or unreadable column (a damaged or edited file) where
            // GRDB's subscripts would trap.
            while let row = try rows.next() {
                events.append(StoredEvent(
                    stream: stream, version: try row.decode(atIndex: 1), globalPosition: try row.decode(atIndex: 0),
                    type: try row.decode(atIndex: 2), payload: try row.decode(atIndex: 3),
                    recordedAtMicroseconds: try row.decode(atIndex: 4), hash: try row.decode(atIndex: 5),
                    previousHash: try row.decode(atIndex: 6)))
            }
            return events
        }
    }

    /// The newest events of `stream`, newest first: at most `limit`, only of `types` when given,
    /// only recorded at or after `recordedSince` (microseconds since 1970) when given. What a
    /// listing of a long stream (the audit trail) reads, without reading the whole stream.
    public func newestEvents(stream: String, types: [String]? = nil, recordedSince: Int64? = nil, limit: Int) async throws -> [StoredEvent] {
        guard limit > 0 else { return [] }
        return try await pool.read { db in
            var conditions = ["stream = ?"]
            var arguments: StatementArguments = [stream]
            if let types {
                guard !types.isEmpty else { return [] }
                conditions.append("type IN (\(Array(repeating: "?", count: types.count).joined(separator: ", ")))")
                for type in types { arguments += [type] }
            }
            if let recordedSince {
                conditions.append("recordedAt >= ?")
                arguments += [recordedSince]
            }
            arguments += [limit]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT globalPosition, version, type, payload, recordedAt, hash, previousHash
                FROM event WHERE \(conditions.joined(separator: " AND ")) ORDER BY version DESC LIMIT ?
                """, arguments: arguments)
            var events: [StoredEvent] = []
            while let row = try rows.next() {
                events.append(StoredEvent(
                    stream: stream, version: try row.decode(atIndex: 1), globalPosition: try row.decode(atIndex: 0),
                    type: try row.decode(atIndex: 2), payload: try row.decode(atIndex: 3),
                    recordedAtMicroseconds: try row.decode(atIndex: 4), hash: try row.decode(atIndex: 5),
                    previousHash: try row.decode(atIndex: 6)))
            }
            return events
        }
    }

    /// The writer connection's `PRAGMA synchronous` (2 is FULL), for durability tests.
    func writerSynchronousLevel() async throws -> Int {
        try await pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    public func readPayloads(stream: String) async throws -> [Data] {
        try await pool.read { db in
            let statement = try db.cachedStatement(sql: "SELECT payload FROM event WHERE stream = ? ORDER BY version")
            var payloads: [Data] = []
            let values = try Data.fetchCursor(statement, arguments: [stream])
            while let payload = try values.next() { payloads.append(payload) }
            return payloads
        }
    }

    public func firstPayloads(streamPrefix prefix: String) async throws -> [String: Data] {
        try await pool.read { db in
            var payloads: [String: Data] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT s.id, e.payload FROM stream s JOIN event e ON e.stream = s.id AND e.version = 1
                WHERE s.id >= ? AND s.id < ?
                """,
                                           arguments: [prefix, prefix + "\u{10FFFF}"])
            while let row = try rows.next() { payloads[try row.decode(atIndex: 0)] = try row.decode(atIndex: 1) as Data }
            return payloads
        }
    }

    public func streams() async throws -> [StreamInfo] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, version, lastType, lastRecordedAt FROM stream ORDER BY lastRecordedAt DESC").map { row in
                StreamInfo(stream: try row.decode(atIndex: 0), version: try row.decode(atIndex: 1), lastType: try row.decode(atIndex: 2),
                           lastRecordedAt: Date(timeIntervalSince1970: Double(try row.decode(Int64.self, atIndex: 3)) / 1_000_000))
            }
        }
    }

    public func verify() async throws -> ChainVerification {
        try await pool.read { db in
            var breaks: [ChainVerification.Break] = []
            var streams = 0
            var count = 0
            var currentStream: String?
            var expectedVersion: Int64 = 1
            var previous = EventHashChain.genesis
            var heads: [String: (version: Int64, hash: String)] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT stream, version, type, payload, recordedAt, hash, previousHash FROM event ORDER BY stream, version
                """)
            while let row = try rows.next() {
                let stream: String = try row.decode(atIndex: 0)
                let version: Int64 = try row.decode(atIndex: 1)
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
                let storedPrevious: String = try row.decode(atIndex: 6)
                if storedPrevious != previous {
                    breaks.append(.init(stream: stream, version: version, problem: "its previous-hash does not match the event before it"))
                }
                let hash: String = try row.decode(atIndex: 5)
                let recomputed = EventHashChain.hash(previous: storedPrevious, stream: stream, version: version,
                                                     type: try row.decode(atIndex: 2), recordedAt: try row.decode(atIndex: 4),
                                                     payload: try row.decode(atIndex: 3))
                if recomputed != hash {
                    breaks.append(.init(stream: stream, version: version, problem: "its content does not match its hash: the event was changed"))
                }
                previous = hash
                // An edited version of Int64.max must be reported, not overflow.
                expectedVersion = version &+ 1
                if let currentStream { heads[currentStream] = (version, hash) }
            }
            // Each stream's head must name its newest event: otherwise events were cut off its
            // end (the chain of what remains is intact, so only the head can tell).
            let recorded = try Row.fetchCursor(db, sql: "SELECT id, version, lastHash FROM stream ORDER BY id")
            while let row = try recorded.next() {
                let stream: String = try row.decode(atIndex: 0)
                let version: Int64 = try row.decode(atIndex: 1)
                let hash: String = try row.decode(atIndex: 2)
                guard let head = heads[stream] else {
                    breaks.append(.init(stream: stream, version: version, problem: "the stream has a head but no events: its events were removed"))
                    continue
                }
                if head.version != version || head.hash != hash {
                    breaks.append(.init(stream: stream, version: head.version,
                                        problem: "the stream's head says version \(version) but the newest event is version \(head.version) (or its hash differs): events were cut off its end"))
                }
            }
            let pruned = try PrunedStreamVerification.check(db)
            var verification = ChainVerification(streams: streams, events: count, breaks: breaks + pruned.breaks)
            verification.prunedStreams = pruned.prunedStreams
            return verification
        }
    }
}

struct AppendRequest: Sendable {
    var stream: String
    var events: [NewEvent]
    var expectedVersion: Int64?
}

/// Collects concurrent appends and writes each collection in one transaction.
actor GroupCommitter {
    let pool: DatabasePool
    private let writability: StorageWritability
    private var queue: [(request: AppendRequest, continuation: CheckedContinuation<[StoredEvent], any Error>)] = []
    private var draining = false

    init(pool: DatabasePool, writability: StorageWritability) {
        self.pool = pool
        self.writability = writability
    }

    func append(_ request: AppendRequest) async throws -> [StoredEvent] {
        try await withCheckedThrowingContinuation { continuation in
            queue.append((request, continuation))
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !queue.isEmpty {
            let batch = queue
            queue.removeAll()
            let requests = batch.map(\.request)
            // The actor is suspended while SQLite writes, so new appends queue for the next batch.
            let outcomes: [Result<[StoredEvent], any Error>]
            // SQLite rolls the whole transaction back on SQLITE_FULL, so the commit then fails
            // as "aborted": what the storage said first is what callers must hear.
            let firstRefusal = Mutex<StorageUnavailableError?>(nil)
            do {
                let applied = try await pool.write { db in
                    requests.map { request in
                        let outcome = Self.apply(request, in: db)
                        if case let .failure(error) = outcome, let refused = StorageUnavailableError.classify(error) {
                            firstRefusal.withLock { $0 = $0 ?? refused }
                        }
                        return outcome
                    }
                }
                // A request whose own insert hit a full disk was rolled back to its savepoint
                // while the others committed: it gets the retryable error too.
                outcomes = applied.map { outcome in
                    if case let .failure(error) = outcome, let refused = StorageUnavailableError.classify(error) { return .failure(refused) }
                    return outcome
                }
                if let refused = outcomes.lazy.compactMap({ outcome -> StorageUnavailableError? in
                    if case let .failure(error) = outcome { return error as? StorageUnavailableError }
                    return nil
                }).first {
                    writability.recordRefused(refused)
                } else {
                    writability.recordCommitted()
                }
            } catch {
                // A full disk or a read-only file system fails the whole transaction (SQLite
                // rolled it back): every caller gets the retryable error, and the committer
                // stays ready for the next batch, which succeeds once space returns.
                if let refused = StorageUnavailableError.classify(error) ?? firstRefusal.withLock({ $0 }) {
                    writability.recordRefused(refused)
                    outcomes = requests.map { _ in .failure(refused) }
                } else {
                    outcomes = requests.map { _ in .failure(error) }
                }
            }
            for (entry, outcome) in zip(batch, outcomes) { entry.continuation.resume(with: outcome) }
        }
        draining = false
    }

    /// One request in its own savepoint: on failure only its rows are rolled back.
    static func apply(_ request: AppendRequest, in db: Database) -> Result<[StoredEvent], any Error> {
        var stored: [StoredEvent] = []
        do {
            try db.inSavepoint {
                let current = try Row.fetchOne(db, sql: "SELECT version, lastHash FROM stream WHERE id = ?", arguments: [request.stream])
                var version = try current.map { try $0.decode(Int64.self, atIndex: 0) } ?? 0
                var previous = try current.map { try $0.decode(String.self, atIndex: 1) } ?? EventHashChain.genesis
                if let expected = request.expectedVersion, expected != version {
                    throw EventStoreError.versionConflict(stream: request.stream, expected: expected, actual: version)
                }
                let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
                let insert = try db.cachedStatement(sql: """
                    INSERT INTO event(stream, version, type, payload, recordedAt, hash, previousHash) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
                for event in request.events {
                    let (next, overflow) = version.addingReportingOverflow(1)
                    guard !overflow else {
                        throw EventStoreError.invalid("stream '\(request.stream)' is at version \(version) and cannot grow: the event store is damaged")
                    }
                    version = next
                    let hash = EventHashChain.hash(previous: previous, stream: request.stream, version: version,
                                                   type: event.type, recordedAt: now, payload: event.payload)
                    try insert.execute(arguments: [request.stream, version, event.type, event.payload, now, hash, previous])
                    stored.append(StoredEvent(stream: request.stream, version: version, globalPosition: db.lastInsertedRowID,
                                              type: event.type, payload: event.payload, recordedAtMicroseconds: now,
                                              hash: hash, previousHash: previous))
                    previous = hash
                }
                try db.execute(sql: """
                    INSERT INTO stream(id, version, lastHash, lastType, lastRecordedAt) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET version = excluded.version, lastHash = excluded.lastHash,
                        lastType = excluded.lastType, lastRecordedAt = excluded.lastRecordedAt
                    """, arguments: [request.stream, version, previous, request.events.last?.type ?? "", now])
                return .commit
            }
            return .success(stored)
        } catch {
            return .failure(error)
        }
    }
}
