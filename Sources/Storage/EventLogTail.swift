import Foundation
import GRDB

/// Reads an event store file (task events or the audit trail) in global order, from outside the
/// process that writes it: what continuous backup shipping reads to find the events committed
/// since it last shipped.
///
/// It keeps its own read-only connection, so it never takes the writer's lock and never changes
/// the file. Reading "after position P" finds every event committed later: SQLite has one writer
/// at a time and `globalPosition` is an AUTOINCREMENT rowid, so a later commit always has larger
/// positions than every earlier one (a rolled-back append may leave a gap, never a smaller number).
public final class EventLogTail: @unchecked Sendable {
    // @unchecked: the queue serializes every use of its connection (GRDB's DatabaseQueue).
    private let queue: DatabaseQueue
    public let path: String

    /// Opens the file at `path` read-only; throws when it is not an event store.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.readonly = true
        // The server may be checkpointing; wait for it rather than fail a shipping round.
        configuration.busyMode = .timeout(10)
        configuration.label = "ares.backup.tail"
        queue = try DatabaseQueue(path: path, configuration: configuration)
        let isEventStore = try queue.read { db in try db.tableExists("event") && db.tableExists("stream") }
        guard isEventStore else {
            try? queue.close()
            throw EventStoreError.invalid("\(path) is not an event store (no event and stream tables)")
        }
    }

    deinit { try? queue.close() }

    /// Whether the SQLite file at `path` holds an event store (without changing it).
    public static func isEventStore(_ path: String) -> Bool {
        guard SQLiteFileCopy.isDatabase(path), let queue = try? SQLiteFileCopy.readOnlyQueue(path) else { return false }
        defer { try? queue.close() }
        return (try? queue.read { db in try db.tableExists("event") && db.tableExists("stream") }) ?? false
    }

    /// The largest global position in the file (0 when it holds no event).
    public func maximumPosition() throws -> Int64 {
        try queue.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(globalPosition) FROM event") ?? 0 }
    }

    /// The events after `position`, in global order: at most `limit` of them, and no more than
    /// about `maximumBytes` of payload (at least one event, so that any event can be shipped).
    public func events(after position: Int64, limit: Int, maximumBytes: Int) throws -> [StoredEvent] {
        guard limit > 0 else { return [] }
        return try queue.read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT globalPosition, stream, version, type, payload, recordedAt, hash, previousHash
                FROM event WHERE globalPosition > ? ORDER BY globalPosition LIMIT ?
                """, arguments: [position, limit])
            var events: [StoredEvent] = []
            var bytes = 0
            // `decode` throws on a NULL or unreadable column (a damaged file) where subscripts would trap.
            while let row = try rows.next() {
                let event = StoredEvent(stream: try row.decode(atIndex: 1), version: try row.decode(atIndex: 2),
                                        globalPosition: try row.decode(atIndex: 0), type: try row.decode(atIndex: 3),
                                        payload: try row.decode(atIndex: 4), recordedAtMicroseconds: try row.decode(atIndex: 5),
                                        hash: try row.decode(atIndex: 6), previousHash: try row.decode(atIndex: 7))
                events.append(event)
                bytes &+= event.payload.count
                if bytes >= maximumBytes { break }
            }
            return events
        }
    }

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

    /// The time (microseconds) of the newest event in global order; nil when there is none.
    public func newestRecordedAt() throws -> Int64? {
        try queue.read { db in try Int64.fetchOne(db, sql: "SELECT recordedAt FROM event ORDER BY globalPosition DESC LIMIT 1") }
    }

    /// The hash of the event at `position`, nil when there is none (pruned, or another file).
    public func hash(at position: Int64) throws -> String? {
        try queue.read { db in try String.fetchOne(db, sql: "SELECT hash FROM event WHERE globalPosition = ?", arguments: [position]) }
    }

    public func close() { try? queue.close() }
}
