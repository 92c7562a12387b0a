import Foundation
import GRDB

/// Reads an event store file (task events or the audit trail) read-only and reports each
/// stream's chain head and every break in its hash chain: what a backup's manifest records and
/// what checking a backup compares against it. Opening the file through `SQLiteEventStore`
/// would migrate and switch it to WAL, changing the very bytes a backup's checksum covers.
public struct EventStoreFileInspection: Sendable, Equatable {
    /// The newest event of one stream: the value that proves nothing was cut off its end.
    public struct Head: Sendable, Equatable, Codable {
        public var stream: String
        public var version: Int64
        public var hash: String

        public init(stream: String, version: Int64, hash: String) {
            self.stream = stream
            self.version = version
            self.hash = hash
        }
    }

    public var heads: [Head]
    public var events: Int
    public var breaks: [ChainVerification.Break]

    /// Inspects the event store at `path`; nil when the file is a database without the event
    /// store's tables (another kind of ares database).
    public static func inspect(_ path: String) throws -> EventStoreFileInspection? {
        let queue = try SQLiteFileCopy.readOnlyQueue(path)
        defer { try? queue.close() }
        return try queue.read { db in
            guard try db.tableExists("event"), try db.tableExists("stream") else { return nil }
            var heads: [Head] = []
            var breaks: [ChainVerification.Break] = []
            var count = 0
            var current: [StoredEvent] = []
            func finish() {
                guard let last = current.last else { return }
                breaks += StreamChainVerification.breaks(in: current)
                heads.append(Head(stream: last.stream, version: last.version, hash: last.hash))
                current.removeAll(keepingCapacity: true)
            }
            let rows = try Row.fetchCursor(db, sql: """
                SELECT stream, version, globalPosition, type, payload, recordedAt, hash, previousHash FROM event ORDER BY stream, version
                """)
            while let row = try rows.next() {
                let event = StoredEvent(stream: try row.decode(atIndex: 0), version: try row.decode(atIndex: 1),
                                        globalPosition: try row.decode(atIndex: 2), type: try row.decode(atIndex: 3),
                                        payload: try row.decode(atIndex: 4), recordedAtMicroseconds: try row.decode(atIndex: 5),
                                        hash: try row.decode(atIndex: 6), previousHash: try row.decode(atIndex: 7))
                if let previous = current.last, previous.stream != event.stream { finish() }
                current.append(event)
                count += 1
            }
            finish()
            // The stream table's head must name the newest event: otherwise events were cut off
            // the end (or the head was edited).
            let recorded = try Row.fetchAll(db, sql: "SELECT id, version, lastHash FROM stream")
            let byStream = Dictionary(heads.map { ($0.stream, $0) }, uniquingKeysWith: { first, _ in first })
            for row in recorded {
                let stream: String = try row.decode(atIndex: 0)
                let version: Int64 = try row.decode(atIndex: 1)
                let hash: String = try row.decode(atIndex: 2)
                if let head = byStream[stream] {
                    if head.version != version || head.hash != hash {
                        breaks.append(.init(stream: stream, version: head.version,
                                            problem: "the stream's head says version \(version) but the newest event is version \(head.version) (or its hash differs)"))
                    }
                } else {
                    breaks.append(.init(stream: stream, version: version, problem: "the stream has a head but no events"))
                }
            }
            // Streams removed by retention: accepted only through checkpoints that match their
            // hash-chained retention records.
            breaks += try PrunedStreamVerification.check(db).breaks
            return EventStoreFileInspection(heads: heads, events: count, breaks: breaks)
        }
    }
}
