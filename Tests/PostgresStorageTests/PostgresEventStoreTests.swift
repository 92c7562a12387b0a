import Foundation
import PostgresNIO
import PostgresStorage
import Storage
import Testing

/// The PostgreSQL event store against a real PostgreSQL 15 (a throwaway cluster): the same
/// behaviours SQLiteEventStoreTests checks, plus what sharing one database brings (concurrent
/// appenders on many connections, notifications per commit, rows edited with SQL).
@Suite struct PostgresEventStoreTests {
    func event(_ type: String, _ text: String = "{}") -> NewEvent {
        NewEvent(type: type, payload: Data(text.utf8))
    }

    @Test func appendsAndReadsBackInOrderWithContiguousVersions() async throws {
        try await PostgresTestDatabase.make().withStore { store, _ in
            let first = try await store.append([event("A", #"{"n":1}"#), event("B")], to: "task-1", expectedVersion: 0)
            let second = try await store.append([event("C")], to: "task-1", expectedVersion: 2)
            _ = try await store.append([event("X", #"{"other":true}"#)], to: "task-2", expectedVersion: nil)
            #expect(first.map(\.version) == [1, 2])
            #expect(second.map(\.version) == [3])
            #expect(second[0].previousHash == first[1].hash)
            let read = try await store.read(stream: "task-1")
            #expect(read.map(\.type) == ["A", "B", "C"])
            #expect(read == first + second, "what append returned is what read returns, positions included")
            #expect(read.map(\.globalPosition) == read.map(\.globalPosition).sorted())
            #expect(Set(read.map(\.globalPosition)).count == 3)
            #expect(try await store.read(stream: "task-1", afterVersion: 2).map(\.type) == ["C"])
            #expect(try await store.readPayloads(stream: "task-1") == [Data(#"{"n":1}"#.utf8), Data("{}".utf8), Data("{}".utf8)])
            #expect(try await store.streams().map(\.stream).sorted() == ["task-1", "task-2"])
            #expect(try await store.streams().first { $0.stream == "task-1" }?.version == 3)
            #expect(try await store.firstPayloads(streamPrefix: "task-") == ["task-1": Data(#"{"n":1}"#.utf8), "task-2": Data(#"{"other":true}"#.utf8)])
            #expect(try await store.firstPayloads(streamPrefix: "task-2").keys.sorted() == ["task-2"])
            #expect(try await store.firstPayloads(streamPrefix: "task_").isEmpty, "the prefix is literal: _ is no wildcard")
            #expect(try await store.read(stream: "nope").isEmpty)
            #expect(try await store.verify() == ChainVerification(streams: 2, events: 4, breaks: []))
        }
    }

    @Test func theHashChainIsTheSameAsSQLites() async throws {
        // The same events give the same chain on both stores when recorded at the same time:
        // recompute the PostgreSQL chain with the SQLite store's verifier.
        try await PostgresTestDatabase.make().withStore { store, _ in
            _ = try await store.append([event("One", #"{"x":1}"#), event("Two")], to: "s", expectedVersion: 0)
            let events = try await store.read(stream: "s")
            #expect(StreamChainVerification.breaks(in: events).isEmpty)
            var edited = events
            edited[0].payload = Data(#"{"x":2}"#.utf8)
            #expect(!StreamChainVerification.breaks(in: edited).isEmpty)
        }
    }

    @Test func aVersionConflictFailsOnlyThatCaller() async throws {
        try await PostgresTestDatabase.make().withStore { store, _ in
            _ = try await store.append([event("A")], to: "s", expectedVersion: 0)
            await #expect(throws: EventStoreError.versionConflict(stream: "s", expected: 0, actual: 1)) {
                try await store.append([event("B")], to: "s", expectedVersion: 0)
            }
            await #expect(throws: EventStoreError.versionConflict(stream: "new", expected: 3, actual: 0)) {
                try await store.append([event("B")], to: "new", expectedVersion: 3)
            }
            #expect(try await store.streams().map(\.stream) == ["s"], "a refused first append leaves no stream behind")
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
    }

    @Test func sixtyFourConcurrentAppendersLoseAndDuplicateNothing() async throws {
        try await PostgresTestDatabase.make().withStore { store, _ in
            // 64 appenders: half on streams of their own, half sharing 4 streams.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<64 {
                    group.addTask {
                        let stream = writer < 32 ? "own-\(writer)" : "shared-\(writer % 4)"
                        for number in 0..<8 {
                            _ = try await store.append([self.event("E", #"{"w":\#(writer),"n":\#(number)}"#)], to: stream, expectedVersion: nil)
                        }
                    }
                }
                try await group.waitForAll()
            }
            var total = 0
            var positions: Set<Int64> = []
            var payloads: Set<Data> = []
            for stream in (0..<32).map({ "own-\($0)" }) + (0..<4).map({ "shared-\($0)" }) {
                let events = try await store.read(stream: stream)
                #expect(events.map(\.version) == (1...Int64(events.count)).map { $0 }, "\(stream): versions 1...n, none lost or doubled")
                total += events.count
                positions.formUnion(events.map(\.globalPosition))
                payloads.formUnion(events.map(\.payload))
            }
            #expect(total == 64 * 8)
            #expect(positions.count == 64 * 8, "every event has a position of its own")
            #expect(payloads.count == 64 * 8, "every append is recorded once")
            #expect(try await store.verify() == ChainVerification(streams: 36, events: 512, breaks: []))
        }
    }

    @Test func twoReplicasAppendingToTheSameStreamsInterleaveWithoutLoss() async throws {
        // Two stores on their own pools, as two replicas are: their batches lock the same
        // streams' rows, in the same order, so they wait for each other instead of colliding.
        let database = try await PostgresTestDatabase.make()
        try await database.withStore { first, _ in
            try await database.withStore { second, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for writer in 0..<48 {
                        let store = writer % 2 == 0 ? first : second
                        group.addTask {
                            for number in 0..<6 {
                                // Each writer touches several streams, in different orders.
                                let stream = "shared-\((writer + number) % 5)"
                                _ = try await store.append([self.event("E", #"{"w":\#(writer),"n":\#(number)}"#)], to: stream, expectedVersion: nil)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                var total = 0
                for stream in 0..<5 {
                    let events = try await second.read(stream: "shared-\(stream)")
                    #expect(events.map(\.version) == (1...Int64(events.count)).map { $0 })
                    total += events.count
                }
                #expect(total == 48 * 6)
                #expect(try await first.verify() == ChainVerification(streams: 5, events: 288, breaks: []))
            }
        }
    }

    @Test func optimisticAppendersOnOneStreamEachWinAVersionOnce() async throws {
        try await PostgresTestDatabase.make().withStore { store, _ in
            // Each writer reads the version, appends expecting it, and retries on a conflict:
            // every version is won by exactly one writer.
            let wins = try await withThrowingTaskGroup(of: Int.self) { group in
                for writer in 0..<16 {
                    group.addTask {
                        var won = 0
                        while won < 4 {
                            let version = Int64(try await store.read(stream: "contended").count)
                            do {
                                _ = try await store.append([self.event("W", #"{"w":\#(writer),"n":\#(won)}"#)], to: "contended", expectedVersion: version)
                                won += 1
                            } catch let error as EventStoreError {
                                guard case .versionConflict = error else { throw error }
                            }
                        }
                        return won
                    }
                }
                return try await group.reduce(0, +)
            }
            let events = try await store.read(stream: "contended")
            #expect(wins == 64)
            #expect(events.map(\.version) == Array(1...64))
            #expect(Set(events.map(\.payload)).count == 64)
            #expect(try await store.verify().isIntact)
        }
    }

    @Test func verifyFindsAnEditedOrDeletedEvent() async throws {
        let database = try await PostgresTestDatabase.make()
        try await database.withStore { store, _ in
            for stream in ["a", "b"] {
                _ = try await store.append([event("One", #"{"x":1}"#), event("Two", #"{"x":2}"#), event("Three")], to: stream, expectedVersion: 0)
            }
            #expect(try await store.verify() == ChainVerification(streams: 2, events: 6, breaks: []))
            try await database.superuserSQL(#"UPDATE ares_events SET payload = convert_to('{"x":9}', 'UTF8') WHERE stream = 'a' AND version = 2"#)
            try await database.superuserSQL("DELETE FROM ares_events WHERE stream = 'b' AND version = 2")
            let report = try await store.verify()
            #expect(report.breaks.contains(.init(stream: "a", version: 2, problem: "its content does not match its hash: the event was changed")))
            #expect(report.breaks.contains { $0.stream == "b" && $0.version == 3 && $0.problem.contains("missing") })
            #expect(!report.breaks.contains { $0.stream == "a" && $0.version != 2 })
        }
    }

    @Test func aRowWrittenBehindTheStoresBackIsAConflictNotADuplicate() async throws {
        let database = try await PostgresTestDatabase.make()
        try await database.withStore { store, _ in
            let first = try await store.append([event("One")], to: "s", expectedVersion: 0)
            // Someone inserts version 2 directly: the stream's head still says 1.
            try await database.superuserSQL("""
                INSERT INTO ares_events (stream, version, type, payload, recorded_at, hash, previous_hash)
                VALUES ('s', 2, 'Forged', '\\x7b7d', 0, 'x', '\(first[0].hash)')
                """)
            await #expect(throws: EventStoreError.versionConflict(stream: "s", expected: 1, actual: 2)) {
                try await store.append([event("Two")], to: "s", expectedVersion: 1)
            }
            #expect(try await store.read(stream: "s").map(\.type) == ["One", "Forged"])
        }
    }

    @Test func damagedRowsThrowInsteadOfTrapping() async throws {
        let database = try await PostgresTestDatabase.make()
        try await database.withStore { store, _ in
            _ = try await store.append([event("One"), event("Two")], to: "task-a", expectedVersion: 0)
            try await database.superuserSQL("""
                ALTER TABLE ares_events ALTER COLUMN type DROP NOT NULL, ALTER COLUMN payload DROP NOT NULL;
                UPDATE ares_events SET type = NULL, payload = NULL;
                """)
            for operation in [{ _ = try await store.read(stream: "task-a") }, { _ = try await store.verify() },
                              { _ = try await store.readPayloads(stream: "task-a") },
                              { _ = try await store.firstPayloads(streamPrefix: "task-") }] as [@Sendable () async throws -> Void] {
                await #expect { try await operation() } throws: { error in
                    (error as? PostgresStorageError)?.kind == .damaged && "\(error)".contains("changed outside ares")
                }
            }
        }
    }

    @Test func everyConnectionCommitsSynchronouslyAndAcknowledgedEventsSurviveReconnecting() async throws {
        let database = try await PostgresTestDatabase.make()
        // The server default says otherwise: the store's own connections must still commit durably.
        try await database.superuserSQL("ALTER DATABASE \(database.name) SET synchronous_commit = off")
        try await database.withStore { store, postgres in
            _ = try await store.append([event("A"), event("B")], to: "s", expectedVersion: 0)
            var settings: [String] = []
            for try await value in try await postgres.client.query("SHOW synchronous_commit").decode(String.self) { settings.append(value) }
            #expect(settings == ["on"])
        }
        try await database.withStore { store, _ in
            #expect(try await store.read(stream: "s").map(\.type) == ["A", "B"])
            _ = try await store.append([event("C")], to: "s", expectedVersion: 2)
            #expect(try await store.verify().isIntact)
        }
    }

    /// Appends prepared while the heads table was nearly empty still find heads by their index
    /// once it holds thousands: the store's connections plan every execution anew
    /// (`plan_cache_mode`). Left to PostgreSQL's default, the sixth execution of the prepared
    /// append fixes a generic plan, a hash join over a sequential scan of every head (cheapest
    /// for the nearly empty table), and keeps it as the table grows until the next ANALYZE
    /// (found in the replicas benchmark, 2026-12-01: 36 million head rows read in half a minute).
    @Test func appendsPreparedOnASmallTableDoNotScanEveryHeadOnceItGrew() async throws {
        let database = try await PostgresTestDatabase.make()
        try await database.withStore { store, _ in
            var version: Int64 = 0
            for _ in 0..<30 {
                version = try #require(try await store.append([event("Step")], to: "task-seed", expectedVersion: version).last?.version)
            }
            // Thousands of tasks later (written elsewhere), with no ANALYZE in between: autovacuum's
            // comes at most once a minute, and a benchmark's whole run fits in between.
            try await database.superuserSQL("""
                INSERT INTO ares_event_streams (stream, version, last_hash, last_type, last_recorded_at)
                SELECT 'task-' || n, 1, '', 'Step', 0 FROM generate_series(1, 20000) AS n
                """)
            let before = try await database.sequentialRowsRead(of: "ares_event_streams")
            for _ in 0..<20 {
                version = try #require(try await store.append([event("Step")], to: "task-seed", expectedVersion: version).last?.version)
            }
            let after = try await database.sequentialRowsRead(of: "ares_event_streams")
            #expect(before >= 0 && after - before < 20_000, "20 appends read \(after - before) head rows sequentially (20,000 heads)")
            #expect(try await store.read(stream: "task-seed").count == 50)
        }
    }

    @Test func oneNotificationPerCommittedAppend() async throws {
        try await PostgresTestDatabase.make().withStore { store, database in
            try await database.client.withConnection { connection in
                try await connection.listen(on: PostgresEventStore.notificationChannel) { notifications in
                    let batch = try await store.append([event("A"), event("B"), event("C")], to: "s", expectedVersion: 0)
                    await #expect(throws: EventStoreError.self) { try await store.append([self.event("X")], to: "s", expectedVersion: 0) }
                    let single = try await store.append([event("D")], to: "t", expectedVersion: nil)
                    var received: [(position: Int64, streams: [String: Int64])] = []
                    for try await notification in notifications {
                        let object = try JSONSerialization.jsonObject(with: Data(notification.payload.utf8)) as? [String: Any] ?? [:]
                        let streams = (object["streams"] as? [String: Any] ?? [:]).mapValues { ($0 as? NSNumber)?.int64Value ?? -1 }
                        received.append(((object["position"] as? NSNumber)?.int64Value ?? -1, streams))
                        if received.count == 2 { break }
                    }
                    // One for the three-event append (its last position, the stream's new version),
                    // none for the refused one, one for the next: in commit order.
                    #expect(received.map(\.position) == [batch[2].globalPosition, single[0].globalPosition])
                    #expect(received.map(\.streams) == [["s": 3], ["t": 1]])
                }
            }
        }
    }

    @Test func limitsAreEnforcedWithClearMessages() async throws {
        try await PostgresTestDatabase.make().withStore { store, _ in
            await #expect { try await store.append([event("A")], to: "", expectedVersion: nil) } throws: { "\($0)".contains("stream id") }
            await #expect { try await store.append([event("A")], to: String(repeating: "s", count: 201), expectedVersion: nil) } throws: { "\($0)".contains("1 to 200") }
            await #expect { try await store.append([], to: "s", expectedVersion: nil) } throws: { "\($0)".contains("1 to 1000 events") }
            await #expect { try await store.append([event("")], to: "s", expectedVersion: nil) } throws: { "\($0)".contains("event type") }
            await #expect { try await store.append([event("A")], to: "nul\u{0}", expectedVersion: nil) } throws: { "\($0)".contains("NUL") }
            await #expect {
                try await store.append([NewEvent(type: "Big", payload: Data(count: (1 << 20) + 1))], to: "s", expectedVersion: nil)
            } throws: { "\($0)".contains("at most 1048576 bytes") }
            #expect(try await store.streams().isEmpty)
            // A batch at the limit goes through in one statement.
            let batch = try await store.append(Array(repeating: event("Step"), count: 1000), to: "big", expectedVersion: 0)
            #expect(batch.map(\.version) == Array(1...1000))
        }
    }
}
