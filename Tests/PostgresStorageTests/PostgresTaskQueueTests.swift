import Foundation
import PostgresStorage
import Storage
import TaskService
import Testing

/// The shared work queue on a real PostgreSQL 15, one statement at a time: claiming in order
/// past principals at their quota and past rows others hold, renewing, releasing (ended or
/// given up), a lease that expires and is taken over, withdrawing, and enqueueing once.
/// Each replica is a queue object of its own with its own id, as each process would have.
@Suite struct PostgresTaskQueueTests {
    @Test func claimsInOrderSkippingHeldRowsAndOwnersAtTheirQuota() async throws {
        let database = try await PostgresTestDatabase.make("queue")
        try await database.withStore { _, postgres in
            let a = PostgresTaskQueue(database: postgres, replicaID: "replica-a", leaseDuration: .seconds(60), logger: .quiet)
            let b = PostgresTaskQueue(database: postgres, replicaID: "replica-b", leaseDuration: .seconds(60), logger: .quiet)
            #expect(try await a.enqueue("task-1", owner: "alice"))
            #expect(try await b.enqueue("task-2", owner: "bob"))
            #expect(try await a.enqueue("task-3", owner: nil))
            #expect(try await b.enqueue("task-1", owner: "alice") == false, "a task is queued once, whoever enqueues it again")

            let bobs = try #require(try await a.claim(excludingOwners: ["alice"]))
            #expect(bobs == TaskClaim(taskID: "task-2", owner: "bob", attempt: 1), "alice is at her quota: her older task waits")
            let alices = try #require(try await b.claim(excludingOwners: []))
            #expect(alices == TaskClaim(taskID: "task-1", owner: "alice", attempt: 1))
            let ownerless = try #require(try await a.claim(excludingOwners: ["alice", "bob"]))
            #expect(ownerless.taskID == "task-3" && ownerless.owner == nil, "a task without an owner is never excluded")
            #expect(try await b.claim(excludingOwners: []) == nil, "every row is held")
            let depth = try await a.depth()
            #expect(depth.waiting == 0 && depth.leased == 3)

            #expect(try await a.renew([bobs, ownerless]).isEmpty, "a replica renews what it holds")
            #expect(try await b.renew([bobs]) == [bobs], "another replica cannot renew it: lost, as far as b is concerned")
            #expect(try await a.renew([TaskClaim(taskID: "task-2", owner: "bob", attempt: 7)]).count == 1, "an attempt that is not the current one is lost")

            #expect(await a.withdraw("task-1") == nil, "a task a live replica holds is not withdrawn")
            #expect(try await a.waiting(among: ["task-1", "task-2", "task-3", "task-9"]).isEmpty)

            // Ended: the row goes. Given up: claimable at once, by anyone, as the next attempt.
            await b.release(bobs, .ended)
            await #expect(try database.superuserSQL("SELECT count(*) FROM ares_task_queue WHERE task_id = 'task-2'") == "1",
                    "b does not hold task-2: its release changes nothing")
            await a.release(bobs, .givenUp)
            #expect(try await a.waiting(among: ["task-2"]) == ["task-2"])
            let again = try #require(try await b.claim(excludingOwners: []))
            #expect(again == TaskClaim(taskID: "task-2", owner: "bob", attempt: 2))
            await a.release(bobs, .ended)
            await #expect(try database.superuserSQL("SELECT lease_holder FROM ares_task_queue WHERE task_id = 'task-2'") == "replica-b",
                    "a's stale release of attempt 1 cannot end b's attempt 2")
            await b.release(again, .ended)
            await a.release(ownerless, .ended)
            await #expect(try database.superuserSQL("SELECT string_agg(task_id, ',') FROM ares_task_queue") == "task-1")

            // Withdrawing a waiting task takes it out for good.
            try await a.enqueue("task-4", owner: "carol")
            #expect(try await b.waiting(among: ["task-4"]) == ["task-4"])
            #expect(await b.withdraw("task-4") == TaskClaim(taskID: "task-4", owner: "carol", attempt: 0))
            #expect(await b.withdraw("task-4") == nil)
            #expect(try await a.claim(excludingOwners: []) == nil)
            #expect(try await a.enqueue("task-4", owner: "carol"), "withdrawn, it may be queued again")
            await #expect(throws: EventStoreError.self) { try await a.enqueue("task-\0", owner: nil) }
        }
    }

    /// A runner with free workers claims several tasks in one statement, and tasks that end
    /// together are released together: each caller returns once its own row is gone.
    @Test func claimsABatchOldestFirstAndReleasesConcurrentEndsTogether() async throws {
        let database = try await PostgresTestDatabase.make("queue-batch")
        try await database.withStore { _, postgres in
            let a = PostgresTaskQueue(database: postgres, replicaID: "replica-a", leaseDuration: .seconds(60), logger: .quiet)
            let b = PostgresTaskQueue(database: postgres, replicaID: "replica-b", leaseDuration: .seconds(60), logger: .quiet)
            for index in 0..<40 { try await a.enqueue("task-\(index)", owner: index % 4 == 0 ? "alice" : nil) }

            let first = try await a.claim(excludingOwners: ["alice"], limit: 8)
            #expect(first.map(\.taskID) == [1, 2, 3, 5, 6, 7, 9, 10].map { "task-\($0)" }, "oldest first, past the excluded owner")
            #expect(first.allSatisfy { $0.attempt == 1 })
            let second = try await b.claim(excludingOwners: [], limit: 4)
            #expect(second.map(\.taskID) == ["task-0", "task-4", "task-8", "task-11"], "the rows a holds are skipped")
            #expect(try await a.claim(excludingOwners: [], limit: 0).map(\.taskID) == ["task-12"], "a limit below one claims one")
            let rest = try await b.claim(excludingOwners: [], limit: 100)
            #expect(rest.count == 27)
            #expect(try await a.claim(excludingOwners: [], limit: 8).isEmpty)

            // b's 31 claims end at once (a's stale attempt of one of them included): one caller
            // writes, the rest queue behind it, and every row b held is gone when they return.
            let stale = TaskClaim(taskID: "task-0", owner: "alice", attempt: 7)
            await withTaskGroup(of: Void.self) { group in
                for claim in second + rest { group.addTask { await b.release(claim, .ended) } }
                group.addTask { await b.release(stale, .ended) }
                group.addTask { await a.release(second[1], .ended) }
            }
            await #expect(try database.superuserSQL("SELECT count(*) FROM ares_task_queue WHERE lease_holder = 'replica-b'") == "0")
            await #expect(try database.superuserSQL("SELECT count(*) FROM ares_task_queue") == "9", "a's 9 claims stay until a releases them")
            for claim in first { await a.release(claim, .ended) }
            await a.release(TaskClaim(taskID: "task-12", owner: nil, attempt: 1), .ended)
            await #expect(try database.superuserSQL("SELECT count(*) FROM ares_task_queue") == "0")
        }
    }

    /// Claims and releases made many times while the queue was nearly empty still find rows by
    /// index once thousands wait (a backlog): their prepared statements are planned at each
    /// execution (`plan_cache_mode`, as the append's: PostgresEventStoreTests). With
    /// PostgreSQL's default, the generic plan fixed at the sixth execution sorted a sequential
    /// scan of the whole queue at every claim, until the next ANALYZE.
    @Test func claimsAndReleasesMadeOnASmallQueueDoNotScanABacklogThatGrew() async throws {
        let database = try await PostgresTestDatabase.make("queue-plans")
        try await database.withStore { _, postgres in
            // Ten-minute leases: a row must not come back on a loaded machine (CI ran this suite for 6 minutes).
            let a = PostgresTaskQueue(database: postgres, replicaID: "replica-a", leaseDuration: .seconds(600), logger: .quiet)
            for index in 0..<30 {
                try await a.enqueue("warm-\(index)", owner: nil)
                for claim in try await a.claim(excludingOwners: ["nobody"], limit: 2) { await a.release(claim, .ended) }
            }
            // (Releases are logged, not thrown: a row left here would be claimed before the backlog.)
            let leftOver = "SELECT coalesce(string_agg(task_id || ' ' || coalesce(lease_holder, '-') || ' ' || attempts, ', '), '') FROM ares_task_queue"
            await #expect(try database.superuserSQL(leftOver) == "", "the warm-up's claims and releases left rows")
            try await database.superuserSQL("""
                INSERT INTO ares_task_queue (task_id, owner) SELECT 'backlog-' || n, 'alice' FROM generate_series(1, 20000) AS n
                """)
            let before = try await database.sequentialRowsRead(of: "ares_task_queue")
            var claimed: [String] = []
            for _ in 0..<10 {
                let claims = try await a.claim(excludingOwners: ["nobody"], limit: 2)
                claimed += claims.map(\.taskID)
                for claim in claims { await a.release(claim, .ended) }
            }
            let after = try await database.sequentialRowsRead(of: "ares_task_queue")
            let claimedLeft = try await database.superuserSQL(leftOver + " WHERE lease_holder IS NOT NULL")
            #expect(claimed == (1...20).map { "backlog-\($0)" }, "oldest first; claimed rows left: \(claimedLeft)")
            #expect(before >= 0 && after - before < 20_000, "10 claims and 20 releases read \(after - before) queue rows sequentially (20,000 waiting)")
        }
    }

    /// A replica with a free worker writes its submission already claimed: no one else can
    /// claim it while the lease holds, the holder renews and releases it like any claim, and
    /// once the lease expires (the holder died) another replica takes it as attempt 2.
    @Test func aSubmissionWrittenClaimedIsHeldLikeAClaim() async throws {
        let database = try await PostgresTestDatabase.make("queue-leased")
        try await database.withStore { store, postgres in
            // Ten-minute leases: the held row must stay held through the test on a loaded machine.
            let a = PostgresTaskQueue(database: postgres, replicaID: "replica-a", leaseDuration: .seconds(600), logger: .quiet)
            let b = PostgresTaskQueue(database: postgres, replicaID: "replica-b", leaseDuration: .seconds(600), logger: .quiet)
            // A replica whose leases expire at once: as if it died right after submitting.
            let c = PostgresTaskQueue(database: postgres, replicaID: "replica-c", leaseDuration: .milliseconds(1), logger: .quiet)
            let lease = try #require(a.submissionLease)
            #expect(lease == TaskQueueLease(holder: "replica-a", milliseconds: 600_000))
            // The database's clock before the submission: the lease runs 600 s from its insert,
            // however long this test then waits for a thread on a loaded machine (a CI run
            // took 10 s between the insert and the check below, which compared with now()).
            let before = try await database.superuserSQL("SELECT now()")
            _ = try await store.appendQueueing([Self.submitted], toNewStream: "task-held", owner: "alice", leasedTo: lease)
            _ = try await store.appendQueueing([Self.submitted], toNewStream: "task-free", owner: "alice", leasedTo: nil)
            await #expect(try database.superuserSQL("""
                SELECT lease_holder || ' ' || attempts || ' ' || (lease_expires_at >= '\(before)'::timestamptz + interval '600 seconds')
                FROM ares_task_queue WHERE task_id = 'task-held'
                """) == "replica-a 1 true")
            #expect(try await b.claim(excludingOwners: [], limit: 8).map(\.taskID) == ["task-free"], "the held row is not claimable")
            let held = TaskClaim(taskID: "task-held", owner: "alice", attempt: 1)
            #expect(try await a.renew([held]).isEmpty, "its holder renews it as a claim of attempt 1")
            #expect(try await b.renew([held]) == [held])

            // c's submission, held for a millisecond and never renewed, is taken over by a.
            let shortLease = try #require(c.submissionLease)
            _ = try await store.appendQueueing([Self.submitted], toNewStream: "task-of-c", owner: nil, leasedTo: shortLease)
            try await Task.sleep(for: .milliseconds(50))
            #expect(try await a.claim(excludingOwners: [], limit: 8) == [TaskClaim(taskID: "task-of-c", owner: nil, attempt: 2)],
                    "c's submission, its lease expired; nothing else is claimable")

            await a.release(held, .ended)
            await #expect(try database.superuserSQL("SELECT count(*) FROM ares_task_queue WHERE task_id = 'task-held'") == "0")
            await #expect(throws: EventStoreError.self) {
                try await store.appendQueueing([Self.submitted], toNewStream: "task-x", owner: nil,
                                               leasedTo: TaskQueueLease(holder: "a\0b", milliseconds: 1_000))
            }
        }
    }

    @Test func anExpiredLeaseIsTakenOverAndTheOldHolderLearnsItLostIt() async throws {
        let database = try await PostgresTestDatabase.make("queue")
        try await database.withStore { _, postgres in
            let dying = PostgresTaskQueue(database: postgres, replicaID: "dying", leaseDuration: .milliseconds(200), logger: .quiet)
            let survivor = PostgresTaskQueue(database: postgres, replicaID: "survivor", leaseDuration: .seconds(60), logger: .quiet)
            try await dying.enqueue("task-1", owner: "p")
            let held = try #require(try await dying.claim(excludingOwners: []))
            // The dying replica renews no more; within a moment the survivor's claim takes it.
            var takenOver: TaskClaim?
            let deadline = ContinuousClock.now + .seconds(30)
            while takenOver == nil, ContinuousClock.now < deadline {
                takenOver = try await survivor.claim(excludingOwners: [])
                if takenOver == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(takenOver == TaskClaim(taskID: "task-1", owner: "p", attempt: 2))
            #expect(try await dying.renew([held]) == [held], "the old holder is told it lost the claim")
            await dying.release(held, .givenUp)
            await #expect(try database.superuserSQL("SELECT lease_holder || ' ' || attempts FROM ares_task_queue") == "survivor 2")

            // A task whose lease expired (its replica is gone) can be withdrawn (canceled) by anyone.
            try await dying.enqueue("task-2", owner: nil)
            let orphan = try #require(try await dying.claim(excludingOwners: []))
            #expect(orphan.taskID == "task-2")
            try await database.superuserSQL("UPDATE ares_task_queue SET lease_expires_at = now() - interval '1 second' WHERE task_id = 'task-2'")
            #expect(await survivor.withdraw("task-2")?.taskID == "task-2")
        }
    }

    // MARK: Recorded and queued in one commit (PostgresEventStore.appendQueueing)

    static let submitted = NewEvent(type: "TaskSubmitted", payload: Data(#"{"question":"q"}"#.utf8))

    @Test func aSubmissionIsRecordedAndQueuedInOneCommitAndAConflictQueuesNothing() async throws {
        let database = try await PostgresTestDatabase.make("queue")
        try await database.withStore { store, postgres in
            let queue = PostgresTaskQueue(database: postgres, replicaID: "replica-a", leaseDuration: .seconds(60), logger: .quiet)
            #expect(store.queueDomain != nil && store.queueDomain == queue.queueDomain, "the store queues into this queue's database")
            // Concurrent submissions share a group commit; each gets its event and its row.
            async let alice = store.appendQueueing([Self.submitted], toNewStream: "task-a", owner: "alice")
            async let nobody = store.appendQueueing([Self.submitted], toNewStream: "task-b", owner: nil)
            let (first, second) = try await (alice, nobody)
            #expect(first.map(\.version) == [1] && second.map(\.version) == [1])
            #expect(try await database.superuserSQL("""
                SELECT string_agg(task_id || ':' || coalesce(owner, '-') || ':' || (lease_holder IS NULL)::text, ',' ORDER BY task_id)
                FROM ares_task_queue
                """) == "task-a:alice:true,task-b:-:true", "both are waiting, with their owners")
            let claim = try #require(try await queue.claim(excludingOwners: ["alice"]))
            #expect(claim == TaskClaim(taskID: "task-b", owner: nil, attempt: 1), "a submitted task is claimable; alice's is skipped at her quota")
            #expect(try await queue.claim(excludingOwners: [])?.taskID == "task-a")

            // A stream that exists is not new: the append fails and queues nothing, while the
            // new stream in the same batch is recorded and queued.
            await queue.release(claim, .ended)
            async let again = store.appendQueueing([Self.submitted], toNewStream: "task-b", owner: "mallory")
            async let fresh = store.appendQueueing([Self.submitted], toNewStream: "task-c", owner: "carol")
            let refused: Bool
            do {
                _ = try await again
                refused = false
            } catch EventStoreError.versionConflict {
                refused = true
            }
            #expect(refused, "task-b exists: its second first event is refused")
            #expect(try await fresh.map(\.version) == [1])
            #expect(try await database.superuserSQL("SELECT string_agg(task_id, ',' ORDER BY task_id) FROM ares_task_queue") == "task-a,task-c",
                    "no row for the refused task-b")
            #expect(try await store.read(stream: "task-b").count == 1)
            await #expect(throws: EventStoreError.self) { try await store.appendQueueing([Self.submitted], toNewStream: "task-d", owner: "a\0b") }
        }
    }

    @Test func aFailedCommitLeavesNeitherTheEventNorTheQueueRow() async throws {
        let database = try await PostgresTestDatabase.make("queue")
        try await database.withStore { store, postgres in
            let queue = PostgresTaskQueue(database: postgres, replicaID: "replica-a", leaseDuration: .seconds(60), logger: .quiet)
            // The server refuses one of the two writes of the transaction: first the event, then
            // the queue row. Either way the other write is rolled back with it.
            try await database.superuserSQL("""
                CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.stream = 'task-no-event' THEN RAISE EXCEPTION 'refused event'; END IF;
                    RETURN NEW;
                END $$;
                CREATE FUNCTION refuse_marked_row() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.task_id = 'task-no-row' THEN RAISE EXCEPTION 'refused queue row'; END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER refuse_event BEFORE INSERT ON ares_events FOR EACH ROW EXECUTE FUNCTION refuse_marked();
                CREATE TRIGGER refuse_row BEFORE INSERT ON ares_task_queue FOR EACH ROW EXECUTE FUNCTION refuse_marked_row();
                """)
            for stream in ["task-no-event", "task-no-row"] {
                await #expect(throws: (any Error).self, "\(stream) fails") {
                    try await store.appendQueueing([Self.submitted], toNewStream: stream, owner: "p")
                }
                #expect(try await store.read(stream: stream).isEmpty, "\(stream): no event recorded")
            }
            #expect(try await database.superuserSQL("SELECT count(*) FROM ares_task_queue") == "0", "no queue row for either")
            #expect(try await queue.claim(excludingOwners: []) == nil)
            #expect(try await store.streams().isEmpty)
            // The store still works for everything else.
            #expect(try await store.appendQueueing([Self.submitted], toNewStream: "task-fine", owner: "p").count == 1)
            #expect(try await queue.claim(excludingOwners: [])?.taskID == "task-fine")
        }
    }
}
