import Foundation
import GRDB
import Testing
@testable import Storage

/// The event store on real SQLite files.
@Suite struct SQLiteEventStoreTests {
    final class Scratch: @unchecked Sendable {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-events-\(UUID().uuidString)")
        init() throws { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: directory) }
        var path: String { directory.appendingPathComponent("events.sqlite").path }
    }

    func event(_ type: String, _ text: String = "{}") -> NewEvent {
        NewEvent(type: type, payload: Data(text.utf8))
    }

    @Test func appendsAndReadsBackInOrderWithContiguousVersions() async throws {
        let scratch = try Scratch()
        let store = try SQLiteEventStore(path: scratch.path)
        let first = try await store.append([event("A", #"{"n":1}"#), event("B")], to: "task-1", expectedVersion: 0)
        let second = try await store.append([event("C")], to: "task-1", expectedVersion: 2)
        _ = try await store.append([event("X")], to: "task-2", expectedVersion: nil)
        #expect(first.map(\.version) == [1, 2])
        #expect(second.map(\.version) == [3])
        #expect(second[0].previousHash == first[1].hash)
        let read = try await store.read(stream: "task-1")
        #expect(read.map(\.type) == ["A", "B", "C"])
        #expect(read == first + second)
        #expect(read.map(\.globalPosition) == read.map(\.globalPosition).sorted())
        #expect(try await store.streams().map(\.stream).sorted() == ["task-1", "task-2"])
        #expect(try await store.read(stream: "nope").isEmpty)
    }

    @Test func aVersionConflictFailsOnlyThatCaller() async throws {
        let scratch = try Scratch()
        let store = try SQLiteEventStore(path: scratch.path)
        _ = try await store.append([event("A")], to: "s", expectedVersion: 0)
        await #expect(throws: EventStoreError.versionConflict(stream: "s", expected: 0, actual: 1)) {
            try await store.append([event("B")], to: "s", expectedVersion: 0)
        }
        // Many concurrent appends, one of them conflicting: the others all succeed.
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<20 {
                group.addTask {
                    do {
                        _ = try await store.append([self.event("E")], to: "t\(index)", expectedVersion: index == 7 ? 5 : 0)
                        return true
                    } catch { return false }
                }
            }
            var successes = 0
            for try await ok in group where ok { successes += 1 }
            #expect(successes == 19)
        }
    }

    @Test func concurrentAppendsLoseAndDuplicateNothing() async throws {
        let scratch = try Scratch()
        let store = try SQLiteEventStore(path: scratch.path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<32 {
                group.addTask {
                    for number in 0..<25 {
                        _ = try await store.append([self.event("E", #"{"n":\#(number)}"#)], to: "stream-\(writer % 8)", expectedVersion: nil)
                    }
                }
            }
            try await group.waitForAll()
        }
        var total = 0
        for stream in 0..<8 {
            let events = try await store.read(stream: "stream-\(stream)")
            #expect(events.map(\.version) == (1...Int64(events.count)).map { $0 })
            total += events.count
        }
        #expect(total == 32 * 25)
        #expect(try await store.verify().isIntact)
    }

    @Test func acknowledgedEventsSurviveReopening() async throws {
        let scratch = try Scratch()
        do {
            let store = try SQLiteEventStore(path: scratch.path)
            _ = try await store.append([event("A"), event("B")], to: "s", expectedVersion: 0)
        }
        let reopened = try SQLiteEventStore(path: scratch.path)
        #expect(try await reopened.read(stream: "s").map(\.type) == ["A", "B"])
        _ = try await reopened.append([event("C")], to: "s", expectedVersion: 2)
        #expect(try await reopened.verify().isIntact)
    }

    @Test func verifyFindsAnEditedOrDeletedEvent() async throws {
        let scratch = try Scratch()
        let store = try SQLiteEventStore(path: scratch.path)
        for stream in ["a", "b"] {
            _ = try await store.append([event("One", #"{"x":1}"#), event("Two", #"{"x":2}"#), event("Three")], to: stream, expectedVersion: 0)
        }
        #expect(try await store.verify() == ChainVerification(streams: 2, events: 6, breaks: []))

        let tamper = try DatabaseQueue(path: scratch.path)
        try await tamper.write { db in
            try db.execute(sql: #"UPDATE event SET payload = CAST('{"x":9}' AS BLOB) WHERE stream = 'a' AND version = 2"#)
            try db.execute(sql: "DELETE FROM event WHERE stream = 'b' AND version = 2")
        }
        let report = try await store.verify()
        #expect(report.breaks.contains(.init(stream: "a", version: 2, problem: "its content does not match its hash: the event was changed")))
        #expect(report.breaks.contains { $0.stream == "b" && $0.version == 3 && $0.problem.contains("missing") })
        #expect(!report.breaks.contains { $0.stream == "a" && $0.version != 2 })
    }

    @Test func verifyReportsAVersionAtInt64MaxInsteadOfOverflowing() async throws {
        let scratch = try Scratch()
        let store = try SQLiteEventStore(path: scratch.path)
        _ = try await store.append([event("One"), event("Two")], to: "a", expectedVersion: 0)
        _ = try await store.append([event("One")], to: "b", expectedVersion: 0)
        let tamper = try DatabaseQueue(path: scratch.path)
        try await tamper.write { db in try db.execute(sql: "UPDATE event SET version = 9223372036854775807 WHERE stream = 'a' AND version = 2") }
        let report = try await store.verify()
        #expect(report.breaks.contains { $0.stream == "a" && $0.version == Int64.max && $0.problem.contains("expected version 2") })
        #expect(!report.breaks.contains { $0.stream == "b" })
    }

    @Test func appendingToAStreamAtInt64MaxFailsInsteadOfOverflowing() async throws {
        let scratch = try Scratch()
        let store = try SQLiteEventStore(path: scratch.path)
        _ = try await store.append([event("One")], to: "s", expectedVersion: 0)
        let tamper = try DatabaseQueue(path: scratch.path)
        try await tamper.write { db in try db.execute(sql: "UPDATE stream SET version = 9223372036854775807 WHERE id = 's'") }
        await #expect { try await store.append([event("Two")], to: "s", expectedVersion: nil) } throws: { "\($0)".contains("cannot grow") }
        _ = try await store.append([event("One")], to: "other", expectedVersion: 0)
    }

    @Test func nullColumnsInADamagedFileThrowInsteadOfTrapping() async throws {
        let scratch = try Scratch()
        let store = try SQLiteEventStore(path: scratch.path)
        _ = try await store.append([event("One"), event("Two")], to: "task-a", expectedVersion: 0)
        let tamper = try DatabaseQueue(path: scratch.path)
        // CREATE TABLE … AS SELECT drops the NOT NULL constraints, as a crafted file would.
        try await tamper.write { db in
            for table in ["event", "stream"] {
                try db.execute(sql: "CREATE TABLE loose AS SELECT * FROM \(table)")
                try db.execute(sql: "DROP TABLE \(table)")
                try db.execute(sql: "ALTER TABLE loose RENAME TO \(table)")
            }
            try db.execute(sql: "UPDATE event SET type = NULL, payload = NULL")
            try db.execute(sql: "UPDATE stream SET version = NULL, lastRecordedAt = NULL")
        }
        await #expect(throws: (any Error).self) { try await store.read(stream: "task-a") }
        await #expect(throws: (any Error).self) { try await store.verify() }
        await #expect(throws: (any Error).self) { try await store.streams() }
        await #expect(throws: (any Error).self) { try await store.firstPayloads(streamPrefix: "task-") }
        await #expect(throws: (any Error).self) { try await store.readPayloads(stream: "task-a") }
        await #expect(throws: (any Error).self) { try await store.append([event("Three")], to: "task-a", expectedVersion: nil) }
    }

    @Test func theWriterSyncsEveryCommit() async throws {
        let scratch = try Scratch()
        #expect(try await SQLiteEventStore(path: scratch.path).writerSynchronousLevel() == 2, "PRAGMA synchronous = FULL")
        #expect(try await SQLiteEventStore(path: scratch.path).writerSynchronousLevel() == 2, "also when reopened")
    }

    @Test func limitsAreEnforcedWithClearMessages() async throws {
        let scratch = try Scratch()
        let store = try SQLiteEventStore(path: scratch.path)
        await #expect { try await store.append([event("A")], to: "", expectedVersion: nil) } throws: { "\($0)".contains("stream id") }
        await #expect { try await store.append([event("A")], to: String(repeating: "s", count: 201), expectedVersion: nil) } throws: { "\($0)".contains("1 to 200") }
        await #expect { try await store.append([], to: "s", expectedVersion: nil) } throws: { "\($0)".contains("1 to 1000 events") }
        await #expect { try await store.append([event("")], to: "s", expectedVersion: nil) } throws: { "\($0)".contains("event type") }
        await #expect {
            try await store.append([NewEvent(type: "Big", payload: Data(count: (1 << 20) + 1))], to: "s", expectedVersion: nil)
        } throws: { "\($0)".contains("at most 1048576 bytes") }
        #expect(try await store.streams().isEmpty)
    }
}

@Suite struct EventHashChainTests {
    @Test func hashesAreSHA256InLowerCaseHex() {
        #expect(EventHashChain.hex([0x00, 0xAB, 0xFF, 0x10]) == "00abff10")
        let hash = EventHashChain.hash(previous: EventHashChain.genesis, stream: "s", version: 1, type: "T", recordedAt: 42, payload: Data("{}".utf8))
        #expect(hash.count == 64)
        #expect(hash != EventHashChain.hash(previous: EventHashChain.genesis, stream: "s", version: 1, type: "T", recordedAt: 43, payload: Data("{}".utf8)))
    }
}
