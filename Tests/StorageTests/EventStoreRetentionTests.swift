import Foundation
import GRDB
import Testing
@testable import Storage

/// Pruning whole streams on real SQLite files: what remains (checkpoint, summary), what
/// `verify` and the file inspection still find, and whether the space comes back.
@Suite struct EventStoreRetentionTests {
    typealias Scratch = SQLiteEventStoreTests.Scratch

    func events(_ count: Int, bytes: Int = 16) -> [NewEvent] {
        (1...count).map { NewEvent(type: "Step\($0)", payload: Data(repeating: UInt8(truncatingIfNeeded: $0), count: bytes)) }
    }

    /// Three streams; `b` is pruned with a summary.
    func prunedStore(_ scratch: Scratch) async throws -> (SQLiteEventStore, StoredEvent) {
        let store = try SQLiteEventStore(path: scratch.path)
        for stream in ["a", "b", "c"] { _ = try await store.append(events(3), to: stream, expectedVersion: 0) }
        let head = try #require(try await store.read(stream: "b").last)
        let outcome = try await store.prune([PruneRequest(stream: "b", expectedVersion: 3, summary: Data(#"{"question":"q"}"#.utf8))])
        #expect(outcome.pruned.map(\.stream) == ["b"])
        #expect(outcome.skipped.isEmpty)
        return (store, head)
    }

    @Test func aPrunedStreamLeavesItsCheckpointAndSummaryAndVerifiesThroughThem() async throws {
        let scratch = try Scratch()
        let (store, head) = try await prunedStore(scratch)
        #expect(try await store.read(stream: "b").isEmpty)
        #expect(try await store.streams().map(\.stream).sorted() == ["a", "ares-retention", "c"])
        let pruned = try #require(try await store.prunedStream("b"))
        #expect(pruned.version == 3)
        #expect(pruned.headHash == head.hash)
        #expect(pruned.summary == Data(#"{"question":"q"}"#.utf8))
        #expect(try await store.prunedStream("a") == nil)
        #expect(try await store.prunedStreams(prefix: "b").map(\.stream) == ["b"])
        // The others are untouched, and the whole log verifies, the pruned stream by its checkpoint.
        #expect(try await store.read(stream: "a").count == 3)
        let verification = try await store.verify()
        #expect(verification.isIntact, "\(verification.breaks)")
        #expect(verification.prunedStreams == 1)
        #expect(verification.streams == 3)  // a, c and the retention stream
        let inspection = try #require(try EventStoreFileInspection.inspect(scratch.path))
        #expect(inspection.breaks.isEmpty, "\(inspection.breaks)")
        #expect(inspection.heads.map(\.stream).sorted() == ["a", "ares-retention", "c"])
    }

    /// The summary is kept once, in the checkpoint row; the record names it by its SHA-256. A
    /// record written before (with a base64 copy of the summary) still decodes to the same checkpoint.
    @Test func theRetentionRecordNamesTheSummaryByItsHashOnly() async throws {
        let scratch = try Scratch()
        let (store, _) = try await prunedStore(scratch)
        let payload = try #require(try await store.read(stream: RetentionRecord.stream).first).payload
        let record = try RetentionRecord.decode(payload)
        let checkpoint = try #require(record.pruned.first)
        #expect(checkpoint.summary == nil)
        #expect(!String(decoding: payload, as: UTF8.self).contains("summary\""))
        #expect(checkpoint.summarySHA256 == PrunedStream(stream: "b", version: 3, headHash: "", summary: Data(#"{"question":"q"}"#.utf8),
                                                         prunedAtMicroseconds: 0).summarySHA256)
        let old = #"{"pruned":[{"headHash":"h","prunedAt":7,"stream":"b","summary":"e30=","summarySHA256":"s","version":3}]}"#
        let decoded = try RetentionRecord.decode(Data(old.utf8))
        #expect(decoded.pruned.first?.summary == Data("{}".utf8))
        #expect(decoded.pruned.first?.summarySHA256 == "s")
    }

    @Test func aStreamThatChangedSinceItWasChosenIsKept() async throws {
        let scratch = try Scratch()
        let store = try SQLiteEventStore(path: scratch.path)
        _ = try await store.append(events(2), to: "a", expectedVersion: 0)
        let outcome = try await store.prune([PruneRequest(stream: "a", expectedVersion: 1, summary: Data()),
                                             PruneRequest(stream: "missing", expectedVersion: 1, summary: Data())])
        #expect(outcome.pruned.isEmpty)
        #expect(outcome.skipped == ["a", "missing"])
        #expect(try await store.read(stream: "a").count == 2)
        // Nothing pruned, nothing recorded.
        #expect(try await store.read(stream: "ares-retention").isEmpty)
    }

    @Test func aChangedCheckpointOrSummaryIsABreak() async throws {
        let scratch = try Scratch()
        let (store, _) = try await prunedStore(scratch)
        let tamper = try DatabaseQueue(path: scratch.path)
        try await tamper.write { db in try db.execute(sql: "UPDATE prunedStream SET lastHash = ? WHERE id = 'b'", arguments: [String(repeating: "f", count: 64)]) }
        var report = try await store.verify()
        #expect(report.breaks.contains { $0.stream == "b" && $0.problem.contains("does not match the retention record") }, "\(report.breaks)")
        try await tamper.write { db in
            try db.execute(sql: "UPDATE prunedStream SET lastHash = (SELECT hash FROM event WHERE stream = 'a' AND version = 3) WHERE id = 'b'")
            try db.execute(sql: #"UPDATE prunedStream SET summary = CAST('{"question":"other"}' AS BLOB) WHERE id = 'b'"#)
        }
        report = try await store.verify()
        #expect(report.breaks.contains { $0.stream == "b" && $0.problem.contains("does not match") })
        let inspection = try #require(try EventStoreFileInspection.inspect(scratch.path))
        #expect(inspection.breaks.contains { $0.stream == "b" })
    }

    @Test func aRemovedCheckpointAnInventedOneAndAnEditedRetentionRecordAreBreaks() async throws {
        let scratch = try Scratch()
        let (store, _) = try await prunedStore(scratch)
        let tamper = try DatabaseQueue(path: scratch.path)
        try await tamper.write { db in
            try db.execute(sql: "DELETE FROM prunedStream WHERE id = 'b'")
            // Hiding stream c's removal as a "pruned" stream with a checkpoint of its own making.
            try db.execute(sql: "DELETE FROM event WHERE stream = 'c'")
            try db.execute(sql: "DELETE FROM stream WHERE id = 'c'")
            try db.execute(sql: "INSERT INTO prunedStream(id, version, lastHash, summary, prunedAt) VALUES ('c', 3, 'x', X'', 1)")
        }
        var report = try await store.verify()
        #expect(report.breaks.contains { $0.stream == "b" && $0.problem.contains("checkpoint is missing") }, "\(report.breaks)")
        #expect(report.breaks.contains { $0.stream == "c" && $0.problem.contains("no retention record") })
        // Rewriting the retention record to match breaks the retention stream's own chain.
        try await tamper.write { db in
            try db.execute(sql: "UPDATE event SET payload = CAST('{\"pruned\":[]}' AS BLOB) WHERE stream = 'ares-retention'")
        }
        report = try await store.verify()
        #expect(report.breaks.contains { $0.stream == "ares-retention" && $0.problem.contains("does not match its hash") })
    }

    @Test func aDeletedEventOfAStreamThatWasNotPrunedIsStillFound() async throws {
        let scratch = try Scratch()
        let (store, _) = try await prunedStore(scratch)
        let tamper = try DatabaseQueue(path: scratch.path)
        try await tamper.write { db in
            try db.execute(sql: "DELETE FROM event WHERE stream = 'a' AND version = 2")
            // The newest event of c, cut off the end: the chain of what is left is intact.
            try db.execute(sql: "DELETE FROM event WHERE stream = 'c' AND version = 3")
        }
        let report = try await store.verify()
        #expect(report.breaks.contains { $0.stream == "a" && $0.problem.contains("missing") }, "\(report.breaks)")
        #expect(report.breaks.contains { $0.stream == "c" && $0.problem.contains("cut off its end") })
        #expect(!report.breaks.contains { $0.stream == "b" })
    }

    @Test func pruningGivesTheSpaceBackToTheFileSystem() async throws {
        let scratch = try Scratch()
        let store = try SQLiteEventStore(path: scratch.path)
        for index in 0..<100 { _ = try await store.append(events(10, bytes: 4096), to: "s\(index)", expectedVersion: 0) }
        let full = store.fileBytes()
        #expect(full > 4_000_000)
        let requests = (0..<95).map { PruneRequest(stream: "s\($0)", expectedVersion: 10, summary: Data("summary".utf8)) }
        let outcome = try await store.prune(requests)
        #expect(outcome.pruned.count == 95)
        #expect(outcome.bytesBefore == full)
        // A new file is in incremental auto-vacuum mode: the pages of the pruned streams leave
        // the file, and the WAL is truncated after the checkpoint.
        #expect(outcome.bytesAfter < full / 4, "\(full) → \(outcome.bytesAfter) bytes")
        #expect(store.fileBytes() == outcome.bytesAfter)
        #expect(try await store.verify().isIntact)
        #expect(try await store.read(stream: "s99").count == 10)
    }

    @Test func storageFailuresAreToldApartFromTheRequestsOwnFaults() {
        #expect(StorageUnavailableError.classify(DatabaseError(resultCode: .SQLITE_FULL))?.reason == .full)
        #expect(StorageUnavailableError.classify(DatabaseError(resultCode: .SQLITE_READONLY))?.reason == .readOnly)
        #expect(StorageUnavailableError.classify(DatabaseError(resultCode: .SQLITE_IOERR_WRITE))?.reason == .ioError)
        #expect(StorageUnavailableError.classify(DatabaseError(resultCode: .SQLITE_CONSTRAINT)) == nil)
        #expect(StorageUnavailableError.classify(EventStoreError.invalid("x")) == nil)
    }

    /// A full database (SQLite's page limit stands in for a full disk: the same SQLITE_FULL):
    /// appends fail with the retryable error and the store says it is unwritable; reads go on;
    /// once there is room, the next write commits without reopening anything.
    @Test func aFullStoreRefusesWritesRetryablyAndRecoversByItself() async throws {
        let scratch = try Scratch()
        let store = try SQLiteEventStore(path: scratch.path)
        _ = try await store.append(events(3), to: "kept", expectedVersion: 0)
        let pages = try await store.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
        _ = try await store.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA max_page_count = \(pages)") }
        // Concurrent appends share the failed transaction: each caller gets the error, none traps or hangs.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<8 {
                group.addTask {
                    await #expect(throws: StorageUnavailableError.self) {
                        _ = try await store.append(self.events(4, bytes: 8192), to: "new-\(index)", expectedVersion: 0)
                    }
                }
            }
            try await group.waitForAll()
        }
        guard case let .unwritable(refused, _) = store.storageWritability.status else {
            Issue.record("the store should say it is unwritable")
            return
        }
        #expect(refused.reason == .full)
        #expect(try await store.read(stream: "kept").count == 3)
        #expect(try await store.read(stream: "new-0").isEmpty)
        _ = try await store.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA max_page_count = 1073741823") }
        #expect(await store.storageWritability.recheck() == .writable)
        _ = try await store.append(events(4, bytes: 8192), to: "new-0", expectedVersion: 0)
        #expect(try await store.verify().isIntact)
    }
}
