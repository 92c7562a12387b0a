import Foundation
import GRDB

/// Writes shipped events, exactly as they were stored (position, time, hashes), into an event
/// store file that no server has open: how a restore brings a base snapshot forward. The caller
/// checks each event's link (`EventChainLink`) against `heads()` before handing it over; this
/// type only writes, one transaction per batch, keeping each stream's head row in step as
/// `SQLiteEventStore` does when it appends.
public final class EventLogReplay {
    private let queue: DatabaseQueue
    public let path: String

    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.label = "ares.restore.replay"
        // No sync per transaction: a restore that fails or is interrupted is thrown away whole
        // (the target is emptied, or was never served), and `close()` syncs the file once.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = OFF") }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        let isEventStore = try queue.read { db in try db.tableExists("event") && db.tableExists("stream") }
        guard isEventStore else {
            try? queue.close()
            throw EventStoreError.invalid("\(path) is not an event store (no event and stream tables)")
        }
    }

    deinit { try? queue.close() }

    /// Every stream's newest event, from the head rows.
    public func heads() throws -> [String: EventChainLink.Head] {
        try queue.read { db in
            var heads: [String: EventChainLink.Head] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT id, version, lastHash FROM stream")
            while let row = try rows.next() {
                heads[try row.decode(atIndex: 0)] = EventChainLink.Head(version: try row.decode(atIndex: 1), hash: try row.decode(atIndex: 2))
            }
            return heads
        }
    }

    /// The largest global position in the file (0 when it holds no event).
    public func maximumPosition() throws -> Int64 {
        try queue.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(globalPosition) FROM event") ?? 0 }
    }

    /// Writes `events` (already checked, in global order) in one transaction.
    public func append(_ events: [StoredEvent]) throws {
        guard !events.isEmpty else { return }
        try queue.write { db in
            let insert = try db.makeStatement(sql: """
                INSERT INTO event(globalPosition, stream, version, type, payload, recordedAt, hash, previousHash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            var newest: [String: StoredEvent] = [:]
            for event in events {
                try insert.execute(arguments: [event.globalPosition, event.stream, event.version, event.type, event.payload,
                                               event.recordedAtMicroseconds, event.hash, event.previousHash])
                newest[event.stream] = event
            }
            let head = try db.makeStatement(sql: """
                INSERT INTO stream(id, version, lastHash, lastType, lastRecordedAt) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET version = excluded.version, lastHash = excluded.lastHash,
                    lastType = excluded.lastType, lastRecordedAt = excluded.lastRecordedAt
                """)
            for event in newest.values {
                try head.execute(arguments: [event.stream, event.version, event.hash, event.type, event.recordedAtMicroseconds])
            }
        }
    }

    /// Closes the file and syncs it: once this returns, what was replayed is durable.
    public func close() throws {
        try queue.close()
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.synchronize()
    }
}
