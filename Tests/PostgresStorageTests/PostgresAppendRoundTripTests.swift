import Foundation
import PostgresStorage
import Storage
import TaskService
import Testing

/// How many statements (round trips) the event store sends per append, counted by PostgreSQL
/// itself (`log_statement = 'all'` on the test's database, read from the cluster's log), and
/// that the one-statement appends keep the guarantees of the locked transaction: a stream
/// appended elsewhere, a duplicate submission, a conflicting expected version (issue 16:
/// SendMessage p99 and no-op tasks per second on PostgreSQL). Serialized: two of its tests
/// log their database's statements into the one cluster log, and must not read each other's.
@Suite(.serialized) struct PostgresAppendRoundTripTests {
    func event(_ type: String) -> NewEvent {
        NewEvent(type: type, payload: Data(#"{"n":1}"#.utf8))
    }

    /// The statements PostgreSQL logged while `body` ran. Only this test's database logs
    /// statements (the setting is per database), and only this test connects to it.
    func statements(in database: PostgresTestDatabase, during body: () async throws -> Void) async throws -> [String] {
        let log = database.cluster.directory.appendingPathComponent("server.log")
        let before = try FileManager.default.attributesOfItem(atPath: log.path)[.size] as? Int ?? 0
        try await body()
        let handle = try FileHandle(forReadingFrom: log)
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(max(0, before)))
        let text = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        // Simple protocol: "LOG:  statement: SQL"; extended: "LOG:  execute <unnamed>: SQL".
        // A pool's keep-alive or a pinger's "SELECT 1" may fall into the window: not the append's.
        return text.split(separator: "\n")
            .filter { ($0.contains("LOG:  statement: ") || $0.contains("LOG:  execute ")) && !$0.hasSuffix(": SELECT 1") }
            .map(String.init)
    }

    @Test func aSubmissionAndATasksNextStepAreOneStatementEach() async throws {
        let database = try await PostgresTestDatabase.make("roundtrips")
        try await database.superuserSQL("ALTER DATABASE \(database.name) SET log_statement = 'all'")
        try await database.withStore { store, _ in
            // A first append opens the pool's connection (its setup statements are not the append's).
            _ = try await store.append([event("Warm")], to: "warm-up", expectedVersion: 0)

            let submission = try await statements(in: database) {
                _ = try await store.appendQueueing([event("TaskSubmitted")], toNewStream: "task-1", owner: "alice")
            }
            #expect(submission.count == 1, "a submission (event, stream head, queue row, notification) is one statement: \(submission)")

            let step = try await statements(in: database) {
                _ = try await store.append([event("TaskCompleted")], to: "task-1", expectedVersion: 1)
            }
            #expect(step.count == 1, "an append to a stream this process wrote last is one statement: \(step)")

            let unexpected = try await statements(in: database) {
                _ = try await store.append([event("Next")], to: "task-1", expectedVersion: nil)
            }
            #expect(unexpected.count == 1, "no expected version: still one statement on the known head: \(unexpected)")

            // Prepared (named) statements: parsed and planned once per connection, not per call.
            for line in submission + step + unexpected { #expect(!line.contains("execute <unnamed>"), "not prepared: \(line)") }

            #expect(try await store.read(stream: "task-1").map(\.type) == ["TaskSubmitted", "TaskCompleted", "Next"])
            await #expect(try database.superuserSQL("SELECT owner FROM ares_task_queue WHERE task_id = 'task-1'") == "alice")
            #expect(try await store.verify() == ChainVerification(streams: 2, events: 4, breaks: []))
        }
    }

    @Test func aClaimAndAReleaseAreOnePreparedStatementEach() async throws {
        let database = try await PostgresTestDatabase.make("roundtrips")
        try await database.superuserSQL("ALTER DATABASE \(database.name) SET log_statement = 'all'")
        try await database.withStore { store, postgres in
            let queue = PostgresTaskQueue(database: postgres, replicaID: "replica-a", leaseDuration: .seconds(60), logger: .quiet)
            _ = try await store.appendQueueing([event("TaskSubmitted")], toNewStream: "task-1", owner: nil)
            var claim: TaskClaim?
            let claiming = try await statements(in: database) { claim = try await queue.claim(excludingOwners: []) }
            let claimed = try #require(claim)
            #expect(claimed.taskID == "task-1")
            let releasing = try await statements(in: database) { await queue.release(claimed, .ended) }
            #expect(claiming.count == 1 && releasing.count == 1, "one statement each: \(claiming + releasing)")
            for line in claiming + releasing { #expect(!line.contains("execute <unnamed>"), "not prepared: \(line)") }
            await #expect(try database.superuserSQL("SELECT count(*) FROM ares_task_queue") == "0", "the release deleted the row")
        }
    }

    /// A task claimed on the replica that did not write it: its state is read whole at the
    /// claim, and that read tells the store the stream's head, so the task's next step is one
    /// statement there too (the locked transaction takes four, holding the append lock across
    /// three round trips). Also after a read of the events after a version.
    @Test func aStreamReadWholeOnAnotherReplicaIsAppendedThereInOneStatement() async throws {
        let database = try await PostgresTestDatabase.make("roundtrips")
        try await database.superuserSQL("ALTER DATABASE \(database.name) SET log_statement = 'all'")
        try await database.withStore { replicaA, postgres in
            let replicaB = PostgresEventStore(database: postgres)
            _ = try await replicaB.append([event("Warm")], to: "warm-up", expectedVersion: 0)
            _ = try await replicaA.appendQueueing([event("TaskSubmitted")], toNewStream: "task-1", owner: nil)
            _ = try await replicaA.appendQueueing([event("TaskSubmitted")], toNewStream: "task-2", owner: nil)
            _ = try await replicaA.append([event("Planned")], to: "task-2", expectedVersion: 1)

            #expect(try await replicaB.readPayloads(stream: "task-1").count == 1)
            let afterPayloads = try await statements(in: database) {
                _ = try await replicaB.append([event("Researched")], to: "task-1", expectedVersion: 1)
            }
            #expect(afterPayloads.count == 1, "one statement after the whole stream was read: \(afterPayloads)")

            #expect(try await replicaB.read(stream: "task-2", afterVersion: 1).map(\.version) == [2])
            let afterEvents = try await statements(in: database) {
                _ = try await replicaB.append([event("Researched")], to: "task-2", expectedVersion: 2)
            }
            #expect(afterEvents.count == 1, "one statement after the events up to the head were read: \(afterEvents)")

            // A head learned from a read that another replica moved on from is only a guess:
            // the append lands on the true head or is refused, as without it.
            _ = try await replicaA.append([event("FromA")], to: "task-1", expectedVersion: 2)
            await #expect(throws: EventStoreError.versionConflict(stream: "task-1", expected: 2, actual: 3)) {
                try await replicaB.append([event("Stale")], to: "task-1", expectedVersion: 2)
            }
            #expect(try await replicaB.append([event("Next")], to: "task-1", expectedVersion: nil).map(\.version) == [4])
            #expect(try await replicaA.verify().breaks.isEmpty)
        }
    }

    /// A stream every replica appends to (the episodic memory's): once this replica's change
    /// feed has read another replica's append, this replica's next append is chained on that
    /// head in one statement. Without the feed's heads it finds its own stale and takes the
    /// locked transaction (four statements; 0.55 per task on two replicas, BENCHMARKS.md).
    @Test func aSharedStreamAppendedElsewhereIsAppendedHereInOneStatementOnceTheFeedReadIt() async throws {
        let database = try await PostgresTestDatabase.make("roundtrips")
        try await database.superuserSQL("ALTER DATABASE \(database.name) SET log_statement = 'all'")
        try await database.withStore { replicaA, postgres in
            let replicaB = PostgresEventStore(database: postgres)
            _ = try await replicaA.append([event("EpisodeRecorded")], to: "shared", expectedVersion: nil)
            _ = try await replicaA.append([event("Warm")], to: "warm-up", expectedVersion: 0)
            let feed = PostgresChangeFeed(database: postgres, mode: .poll(every: .milliseconds(20)), start: .after(position: 0),
                                          store: replicaA, logger: .quiet)
            // The feed polls the same database meanwhile: its reads are not the appends'.
            let isNotTheFeeds = { (line: String) in !line.contains("SELECT position, stream, version") }
            try await PostgresChangeFeedTests.following(feed) { received in
                let fromB = try await replicaB.append([event("EpisodeRecorded")], to: "shared", expectedVersion: nil)
                #expect(try await PostgresChangeFeedTests.eventually { received.all.contains { $0.globalPosition == fromB[0].globalPosition } })
                var versions: [Int64] = []
                let appended = try await statements(in: database) {
                    versions = try await replicaA.append([event("EpisodeRecorded")], to: "shared", expectedVersion: nil).map(\.version)
                }.filter(isNotTheFeeds)
                #expect(versions == [3])
                #expect(appended.count == 1, "one statement on the head the feed read: \(appended)")
                // A stream the feed saw but this replica never appended to is not taken up.
                _ = try await replicaB.append([event("TaskSubmitted")], to: "task-b", expectedVersion: 0)
                let elsewhere = try await replicaB.append([event("Step")], to: "task-b", expectedVersion: 1)
                #expect(try await PostgresChangeFeedTests.eventually { received.all.contains { $0.globalPosition == elsewhere[0].globalPosition } })
                let first = try await statements(in: database) {
                    _ = try await replicaA.append([event("Step")], to: "task-b", expectedVersion: 2)
                }.filter(isNotTheFeeds)
                #expect(first.count == 4, "an unknown head: the locked transaction (BEGIN, lock, insert, COMMIT): \(first)")
            }
            #expect(try await replicaA.verify().breaks.isEmpty)
        }
    }

    @Test func aStreamAppendedByAnotherReplicaIsAppendedOnItsTrueHead() async throws {
        let database = try await PostgresTestDatabase.make("roundtrips")
        try await database.withStore { replicaA, postgres in
            let replicaB = PostgresEventStore(database: postgres)
            _ = try await replicaA.appendQueueing([event("TaskSubmitted")], toNewStream: "task-1", owner: nil)
            // B appends behind A's back: A's idea of the head (version 1) is now wrong.
            _ = try await replicaB.append([event("FromB")], to: "task-1", expectedVersion: 1)

            let appended = try await replicaA.append([event("FromA")], to: "task-1", expectedVersion: nil)
            #expect(appended.map(\.version) == [3], "appended after B's event, not over it")
            await #expect(throws: EventStoreError.versionConflict(stream: "task-1", expected: 1, actual: 3)) {
                try await replicaB.append([event("Stale")], to: "task-1", expectedVersion: 1)
            }
            #expect(try await replicaA.read(stream: "task-1").map(\.type) == ["TaskSubmitted", "FromB", "FromA"])
            #expect(try await replicaA.verify().breaks.isEmpty)
        }
    }

    @Test func aDuplicateSubmissionOnAnyReplicaIsAConflictAndQueuesNothing() async throws {
        let database = try await PostgresTestDatabase.make("roundtrips")
        try await database.withStore { replicaA, postgres in
            let replicaB = PostgresEventStore(database: postgres)
            _ = try await replicaA.appendQueueing([event("TaskSubmitted")], toNewStream: "task-1", owner: "alice")
            try await database.superuserSQL("DELETE FROM ares_task_queue")
            for replica in [replicaA, replicaB] {
                await #expect(throws: EventStoreError.versionConflict(stream: "task-1", expected: 0, actual: 1)) {
                    try await replica.appendQueueing([event("TaskSubmitted")], toNewStream: "task-1", owner: "alice")
                }
            }
            await #expect(try database.superuserSQL("SELECT count(*) FROM ares_task_queue") == "0", "a refused submission queues nothing")
            #expect(try await replicaA.read(stream: "task-1").count == 1)
        }
    }

    @Test func concurrentSubmissionsAndStepsOnTwoReplicasChainWithoutLoss() async throws {
        let database = try await PostgresTestDatabase.make("roundtrips")
        try await database.withStore { replicaA, postgres in
            let replicaB = PostgresEventStore(database: postgres)
            let replicas = [replicaA, replicaB]
            // 40 tasks, each submitted on one replica and given three steps alternately on both
            // (no expected version: each step goes after whatever the head is).
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<40 {
                    group.addTask {
                        let stream = "task-\(task)"
                        _ = try await replicas[task % 2].appendQueueing([self.event("TaskSubmitted")], toNewStream: stream, owner: nil)
                        for step in 0..<3 { _ = try await replicas[(task + step + 1) % 2].append([self.event("Step")], to: stream) }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await replicaA.verify() == ChainVerification(streams: 40, events: 160, breaks: []))
            await #expect(try database.superuserSQL("SELECT count(*) FROM ares_task_queue") == "40")
            await #expect(try database.superuserSQL("SELECT count(*) FROM ares_event_streams WHERE version <> 4") == "0")
        }
    }
}
