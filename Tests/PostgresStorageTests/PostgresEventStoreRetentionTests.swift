import Foundation
import PostgresStorage
import Storage
import Testing

/// Retention on a real PostgreSQL (`PostgresEventStore.prune`): the contract the SQLite store's
/// `EventStoreRetentionTests` check (a checkpoint and summary remain, `verify` accepts the
/// removal only through them), plus what a shared database adds: replicas pruning the same
/// streams at once, and a replica that still caches a pruned stream's head.
@Suite struct PostgresEventStoreRetentionTests {
    func events(_ count: Int) -> [NewEvent] {
        (1...count).map { NewEvent(type: "Step\($0)", payload: Data(#"{"n":\#($0)}"#.utf8)) }
    }

    func summary(_ text: String) -> Data { Data(#"{"question":"\#(text)"}"#.utf8) }

    @Test func aPrunedStreamLeavesItsCheckpointAndSummaryAndVerifiesThroughThem() async throws {
        try await PostgresTestDatabase.make("retention").withStore { store, _ in
            for stream in ["a", "b", "c"] { _ = try await store.append(events(3), to: stream, expectedVersion: 0) }
            let head = try #require(try await store.read(stream: "b").last)
            let before = Date()
            let outcome = try await store.prune([
                PruneRequest(stream: "b", expectedVersion: 3, summary: summary("q")),
                PruneRequest(stream: "b", expectedVersion: 3, summary: summary("twice")),
                PruneRequest(stream: "a", expectedVersion: 1, summary: Data()),  // it grew since it was chosen
                PruneRequest(stream: "missing", expectedVersion: 1, summary: Data()),
                PruneRequest(stream: RetentionRecord.stream, expectedVersion: 0, summary: Data()),
            ])
            #expect(outcome.pruned.map(\.stream) == ["b"])
            #expect(outcome.skipped.sorted() == ["a", "ares-retention", "b", "missing"])
            #expect(outcome.bytesBefore > 0 && outcome.bytesAfter > 0)

            #expect(try await store.read(stream: "b").isEmpty)
            #expect(try await store.streams().map(\.stream).sorted() == ["a", "ares-retention", "c"])
            let pruned = try #require(try await store.prunedStream("b"))
            #expect(pruned.version == 3 && pruned.headHash == head.hash && pruned.summary == summary("q"))
            #expect(pruned.prunedAt >= before.addingTimeInterval(-1))
            #expect(try await store.prunedStream("a") == nil)
            #expect(try await store.prunedStreams(prefix: "b").map(\.stream) == ["b"])
            #expect(try await store.prunedStreams(prefix: "a").isEmpty)
            // The record is chained in the retention stream and names the checkpoint.
            let record = try RetentionRecord.decode(try #require(try await store.read(stream: RetentionRecord.stream).first).payload)
            #expect(record.pruned.map(\.stream) == ["b"])
            #expect(record.pruned.first?.headHash == head.hash && record.pruned.first?.summarySHA256 == pruned.summarySHA256)

            var verification = try await store.verify()
            #expect(verification.isIntact, "\(verification.breaks)")
            #expect(verification.prunedStreams == 1)
            #expect(verification.streams == 3)  // a, c and the retention stream

            // A second prune continues the retention stream's chain; a later pruning wins.
            _ = try await store.append(events(1), to: "c", expectedVersion: 3)
            #expect(try await store.prune([PruneRequest(stream: "c", expectedVersion: 4, summary: summary("c"))]).pruned.map(\.stream) == ["c"])
            #expect(try await store.read(stream: RetentionRecord.stream).map(\.version) == [1, 2])
            #expect(try await store.prunedStreams(prefix: "").map(\.stream) == ["c", "b"], "most recently pruned first")
            verification = try await store.verify()
            #expect(verification.isIntact && verification.prunedStreams == 2, "\(verification.breaks)")
            // Nothing pruned, nothing recorded.
            #expect(try await store.prune([PruneRequest(stream: "a", expectedVersion: 2, summary: Data())]).pruned.isEmpty)
            #expect(try await store.read(stream: RetentionRecord.stream).count == 2)
        }
    }

    /// This store wrote stream b and caches its head; once b is pruned, an append that expects
    /// the old head is a conflict, not an event on a removed stream.
    @Test func anAppendOnACachedHeadOfAPrunedStreamConflicts() async throws {
        try await PostgresTestDatabase.make("retention").withStore { store, _ in
            _ = try await store.append(events(3), to: "b", expectedVersion: 0)
            #expect(try await store.prune([PruneRequest(stream: "b", expectedVersion: 3, summary: Data())]).pruned.count == 1)
            await #expect(throws: EventStoreError.versionConflict(stream: "b", expected: 3, actual: 0)) {
                try await store.append(events(1), to: "b", expectedVersion: 3)
            }
            #expect(try await store.read(stream: "b").isEmpty)
            #expect(try await store.verify().isIntact)
        }
    }

    /// Two replicas prune the same streams at the same moment: each stream is removed once, the
    /// retention stream holds one record per stream, and the log verifies. A third session holds
    /// one of the streams' head rows until both prunes wait for it, so they really overlap.
    @Test func replicasPruningTheSameStreamsRemoveEachOnce() async throws {
        let database = try await PostgresTestDatabase.make("retention")
        let streams = (1...40).map { "task-\($0)" }
        let requests = streams.map { PruneRequest(stream: $0, expectedVersion: 2, summary: summary($0)) }
        try await database.withStore { writer, postgres in
            for stream in streams { _ = try await writer.append(events(2), to: stream, expectedVersion: 0) }
            // The retention stream exists before (the first prune of a database creates its head,
            // and a second prune waits for that creation's commit whatever else it does).
            _ = try await writer.append(events(1), to: "warm-up", expectedVersion: 0)
            #expect(try await writer.prune([PruneRequest(stream: "warm-up", expectedVersion: 1, summary: Data())]).pruned.count == 1)
            let outcomes = try await database.withStore { replicaA, _ in
                try await database.withStore { replicaB, _ in
                    try await postgres.pool.withConnection { holder in
                        try await holder.query("BEGIN", logger: .quiet)
                        try await holder.query("SELECT 1 FROM ares_event_streams WHERE stream = 'task-20' FOR UPDATE", logger: .quiet)
                        async let first = replicaA.prune(requests)
                        async let second = replicaB.prune(requests)
                        var waiting = ""
                        for _ in 0..<400 where waiting != "2" {
                            try await Task.sleep(for: .milliseconds(25))
                            waiting = try await database.superuserSQL(
                                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
                        }
                        try await holder.query("COMMIT", logger: .quiet)
                        #expect(waiting == "2", "both prunes waited for the held row")
                        return [try await first, try await second]
                    }
                }
            }
            let pruned = outcomes.flatMap { $0.pruned.map(\.stream) }
            #expect(pruned.sorted() == streams.sorted(), "every stream pruned by exactly one replica")
            #expect(outcomes.flatMap(\.skipped).count == streams.count, "and skipped by the other")
            var recorded: [String] = ["warm-up"]
            for event in try await writer.read(stream: RetentionRecord.stream).dropFirst() {
                recorded += try RetentionRecord.decode(event.payload).pruned.map(\.stream)
            }
            #expect(recorded.sorted() == (streams + ["warm-up"]).sorted())
            let verification = try await writer.verify()
            #expect(verification.isIntact && verification.prunedStreams == 41, "\(verification.breaks)")
        }
    }

    @Test func aChangedRemovedOrInventedCheckpointIsABreak() async throws {
        let database = try await PostgresTestDatabase.make("retention")
        try await database.withStore { store, _ in
            for stream in ["a", "b", "c"] { _ = try await store.append(events(3), to: stream, expectedVersion: 0) }
            _ = try await store.prune([PruneRequest(stream: "b", expectedVersion: 3, summary: summary("q"))])
            try await database.superuserSQL("UPDATE ares_pruned_streams SET summary = convert_to('{\"question\":\"other\"}', 'UTF8') WHERE stream = 'b'")
            var report = try await store.verify()
            #expect(report.breaks.contains { $0.stream == "b" && $0.problem.contains("does not match the retention record") }, "\(report.breaks)")
            // Hiding stream c's removal as a "pruned" stream with a checkpoint of its own making,
            // and b's checkpoint gone.
            try await database.superuserSQL("""
                DELETE FROM ares_pruned_streams WHERE stream = 'b';
                DELETE FROM ares_events WHERE stream = 'c'; DELETE FROM ares_event_streams WHERE stream = 'c';
                INSERT INTO ares_pruned_streams VALUES ('c', 3, 'x', '', 1)
                """)
            report = try await store.verify()
            #expect(report.breaks.contains { $0.stream == "b" && $0.problem.contains("checkpoint is missing") }, "\(report.breaks)")
            #expect(report.breaks.contains { $0.stream == "c" && $0.problem.contains("no retention record") }, "\(report.breaks)")
        }
    }
}
