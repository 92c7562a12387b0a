import Foundation
import GRDB

/// Retention: removing whole streams (ended tasks) while keeping their chain checkpoints, and
/// giving the space back.
extension SQLiteEventStore {
    /// Streams removed per transaction: bounds how long one prune holds the writer (appends
    /// wait behind it) and how large one retention record grows.
    public static let pruneBatch = 200

    /// Removes each requested stream that is still at its expected version: its events and
    /// head go, a checkpoint (version, head hash, summary) stays, and one `ares-retention`
    /// event per batch records the checkpoints in the hash-chained log. Then gives the freed
    /// pages back: an incremental vacuum where the file allows it (files created by this
    /// version), otherwise SQLite reuses them for later events; and a WAL checkpoint that
    /// truncates the WAL when no reader holds it.
    public func prune(_ requests: [PruneRequest]) async throws -> PruneOutcome {
        let before = fileBytes()
        var pruned: [PrunedStream] = []
        var skipped: [String] = []
        var start = requests.startIndex
        while start < requests.endIndex {
            let end = min(start + Self.pruneBatch, requests.endIndex)
            let batch = Array(requests[start..<end])
            let (removed, kept) = try await write { db in try Self.prune(batch, in: db) }
            pruned += removed
            skipped += kept
            start = end
        }
        if !pruned.isEmpty { await reclaimSpace() }
        return PruneOutcome(pruned: pruned, skipped: skipped, bytesBefore: before, bytesAfter: fileBytes())
    }

    private static func prune(_ requests: [PruneRequest], in db: Database) throws -> (removed: [PrunedStream], kept: [String]) {
        var removed: [PrunedStream] = []
        var kept: [String] = []
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        for request in requests {
            guard request.stream != RetentionRecord.stream,
                  let head = try Row.fetchOne(db, sql: "SELECT version, lastHash FROM stream WHERE id = ?", arguments: [request.stream]),
                  try head.decode(Int64.self, atIndex: 0) == request.expectedVersion else {
                kept.append(request.stream)
                continue
            }
            let pruned = PrunedStream(stream: request.stream, version: request.expectedVersion, headHash: try head.decode(atIndex: 1),
                                      summary: request.summary, prunedAtMicroseconds: now)
            try db.execute(sql: "DELETE FROM event WHERE stream = ?", arguments: [request.stream])
            try db.execute(sql: "DELETE FROM stream WHERE id = ?", arguments: [request.stream])
            try db.execute(sql: """
                INSERT INTO prunedStream(id, version, lastHash, summary, prunedAt) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET version = excluded.version, lastHash = excluded.lastHash,
                    summary = excluded.summary, prunedAt = excluded.prunedAt
                """, arguments: [pruned.stream, pruned.version, pruned.headHash, pruned.summary, pruned.prunedAtMicroseconds])
            removed.append(pruned)
        }
        guard !removed.isEmpty else { return (removed, kept) }
        let record = NewEvent(type: RetentionRecord.eventType, payload: try RetentionRecord(removed).encoded())
        // Written in the same transaction as the removal: there is never a removal without its
        // record, nor a record of a removal that did not happen.
        if case let .failure(error) = GroupCommitter.apply(AppendRequest(stream: RetentionRecord.stream, events: [record], expectedVersion: nil), in: db) {
            throw error
        }
        return (removed, kept)
    }

    /// Runs `body` in a write transaction; a full disk or read-only file system comes back as
    /// `StorageUnavailableError` and marks the store unwritable (as appends do).
    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            let value = try await pool.write(body)
            storageWritability.recordCommitted()
            return value
        } catch {
            if let refused = StorageUnavailableError.classify(error) {
                storageWritability.recordRefused(refused)
                throw refused
            }
            throw error
        }
    }

    /// Best effort: a failure here leaves the pages free for reuse, which is still correct.
    private func reclaimSpace() async {
        try? await pool.writeWithoutTransaction { db in
            if try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") == 2 {
                try db.execute(sql: "PRAGMA incremental_vacuum")
            }
            _ = try Row.fetchAll(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    /// The checkpoint and summary of a pruned stream; nil when `stream` was not pruned.
    public func prunedStream(_ stream: String) async throws -> PrunedStream? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT id, version, lastHash, summary, prunedAt FROM prunedStream WHERE id = ?", arguments: [stream])
                .map(Self.prunedStream(from:))
        }
    }

    /// Every pruned stream whose name starts with `prefix`, most recently pruned first.
    public func prunedStreams(prefix: String) async throws -> [PrunedStream] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, version, lastHash, summary, prunedAt FROM prunedStream WHERE id >= ? AND id < ? ORDER BY prunedAt DESC, id
                """, arguments: [prefix, prefix + "\u{10FFFF}"]).map(Self.prunedStream(from:))
        }
    }

    private static func prunedStream(from row: Row) throws -> PrunedStream {
        PrunedStream(stream: try row.decode(atIndex: 0), version: try row.decode(atIndex: 1), headHash: try row.decode(atIndex: 2),
                     summary: try row.decode(atIndex: 3), prunedAtMicroseconds: try row.decode(atIndex: 4))
    }

    /// Bytes of the database file and its WAL on disk.
    public func fileBytes() -> Int64 {
        let path = pool.path
        return [path, path + "-wal"].reduce(Int64(0)) { sum, file in
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0
            return sum + size
        }
    }

    /// Pages the file holds but does not use (given back by an incremental vacuum, or reused).
    public func freePages() async throws -> (free: Int, total: Int, pageSize: Int) {
        try await pool.read { db in
            (try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0, try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0,
             try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0)
        }
    }
}
