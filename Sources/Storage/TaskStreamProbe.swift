import Foundation
import GRDB

/// Reads an embedded event store (`tasks.sqlite`) read-only from another process while a server
/// writes it (WAL lets readers in), for `ares validate --manage`'s embedded failover phase: which
/// task streams are unfinished (the tasks a killed server held), how far each has got (so a new
/// event after a takeover shows it runs again), and whether any once-only step was recorded twice.
/// It never migrates or writes the file: the server that owns it may be dead, or a standby may be
/// opening it.
public struct TaskStreamProbe: Sendable {
    /// The head of one task stream.
    public struct Head: Sendable, Equatable {
        public var version: Int64
        public var lastType: String
    }

    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// Task streams (their first event `TaskSubmitted`) whose newest event is none of `endings`.
    public func unfinishedTasks(endings: [String]) throws -> [String: Head] {
        try read { db in
            let marks = databaseQuestionMarks(count: endings.count)
            let rows = try Row.fetchAll(db, sql: """
                SELECT s.id, s.version, s.lastType FROM stream s
                WHERE s.lastType NOT IN (\(marks))
                  AND EXISTS (SELECT 1 FROM event e WHERE e.stream = s.id AND e.type = 'TaskSubmitted')
                """, arguments: StatementArguments(endings))
            var heads: [String: Head] = [:]
            for row in rows {
                heads[try row.decode(atIndex: 0)] = Head(version: try row.decode(atIndex: 1), lastType: try row.decode(atIndex: 2))
            }
            return heads
        }
    }

    /// The heads of `streams` (a stream without events is absent).
    public func heads(of streams: [String]) throws -> [String: Head] {
        guard !streams.isEmpty else { return [:] }
        return try read { db in
            var heads: [String: Head] = [:]
            // In slices, under SQLite's limit on bound parameters.
            for start in stride(from: 0, to: streams.count, by: 500) {
                let slice = Array(streams[start..<min(streams.count, start + 500)])
                let rows = try Row.fetchAll(db, sql: "SELECT id, version, lastType FROM stream WHERE id IN (\(databaseQuestionMarks(count: slice.count)))",
                                            arguments: StatementArguments(slice))
                for row in rows {
                    heads[try row.decode(atIndex: 0)] = Head(version: try row.decode(atIndex: 1), lastType: try row.decode(atIndex: 2))
                }
            }
            return heads
        }
    }

    /// Among `streams`, each event type of `onceOnly` recorded more than once, and each stream
    /// with more than one of `endings`: `task-…: TaskPlanned ×2`.
    public func duplicateSteps(of streams: [String], onceOnly: [String], endings: [String]) throws -> [String] {
        guard !streams.isEmpty else { return [] }
        return try read { db in
            var duplicates: [String] = []
            for start in stride(from: 0, to: streams.count, by: 400) {
                let slice = Array(streams[start..<min(streams.count, start + 400)])
                let inStreams = databaseQuestionMarks(count: slice.count)
                let rows = try Row.fetchAll(db, sql: """
                    SELECT stream, type, count(*) FROM event WHERE stream IN (\(inStreams)) AND type IN (\(databaseQuestionMarks(count: onceOnly.count)))
                    GROUP BY stream, type HAVING count(*) > 1
                    UNION ALL
                    SELECT stream, 'ending', count(*) FROM event WHERE stream IN (\(inStreams)) AND type IN (\(databaseQuestionMarks(count: endings.count)))
                    GROUP BY stream HAVING count(*) > 1
                    ORDER BY 1, 2
                    """, arguments: StatementArguments(slice + onceOnly + slice + endings))
                for row in rows {
                    let stream: String = try row.decode(atIndex: 0)
                    let type: String = try row.decode(atIndex: 1)
                    let count: Int64 = try row.decode(atIndex: 2)
                    duplicates.append("\(stream): \(type) ×\(count)")
                }
            }
            return duplicates
        }
    }

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "ares.task-stream-probe"
        configuration.busyMode = .timeout(5)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read(body)
    }
}
