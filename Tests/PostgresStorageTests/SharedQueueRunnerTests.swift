import AresTestSupport
import Agents
import Foundation
import PostgresStorage
import ResearchCore
import Storage
import Synchronization
import TaskService
import Testing

/// Task runners of several replicas on one PostgreSQL, in one test process: each replica has
/// its own connection pool, event store, service, runner and `PostgresTaskQueue` (its own
/// replica id), as separate processes would. Work is claimed, not assigned: every task runs
/// exactly once; a replica that dies has its tasks taken over after its leases expire; a
/// replica that lost a lease stops the task, and were it to write, the expected stream
/// version refuses it; a drained replica hands its tasks over at once.
@Suite struct SharedQueueRunnerTests {
    typealias OnePassage = OnePassageRetriever
    typealias Gate = GatedRetriever
    static let question = "How are tasks resumed after a restart?"

    /// The replica's queue, recording every claim it made; `crash()` makes it behave as a
    /// dead process's would: nothing it does reaches the database any more.
    final class RecordingQueue: TaskWorkQueue {
        struct Crashed: Error {}
        let base: PostgresTaskQueue
        let claims = Mutex<[TaskClaim]>([])
        /// Calls of `enqueue`: a submission recorded and queued in one commit makes none.
        let enqueues = Mutex(0)
        let withdrawals = Mutex(0)
        private let crashed = Mutex(false)
        /// Whether the runner may write its submissions already claimed (`submissionLease`);
        /// off in the tests that count every claim.
        let claimsAtSubmission: Bool

        init(_ base: PostgresTaskQueue, claimsAtSubmission: Bool = false) {
            self.base = base
            self.claimsAtSubmission = claimsAtSubmission
        }

        func crash() { crashed.withLock { $0 = true } }
        private func alive() throws { if crashed.withLock({ $0 }) { throw Crashed() } }
        private var isCrashed: Bool { crashed.withLock { $0 } }

        var leaseDuration: Duration? { base.leaseDuration }
        var pollInterval: Duration? { base.pollInterval }
        var queueDomain: ObjectIdentifier? { base.queueDomain }
        var submissionLease: TaskQueueLease? { claimsAtSubmission ? base.submissionLease : nil }
        func enqueue(_ taskID: String, owner: String?) async throws -> Bool {
            try alive()
            enqueues.withLock { $0 += 1 }
            return try await base.enqueue(taskID, owner: owner)
        }
        func claim(excludingOwners excludedOwners: Set<String>) async throws -> TaskClaim? {
            try alive()
            let claim = try await base.claim(excludingOwners: excludedOwners)
            if let claim { claims.withLock { $0.append(claim) } }
            return claim
        }
        func renew(_ claims: [TaskClaim]) async throws -> [TaskClaim] {
            try alive()
            return try await base.renew(claims)
        }
        func release(_ claim: TaskClaim, _ end: TaskClaimEnd) async {
            if !isCrashed { await base.release(claim, end) }
        }
        func withdraw(_ taskID: String) async -> TaskClaim? {
            withdrawals.withLock { $0 += 1 }
            return isCrashed ? nil : await base.withdraw(taskID)
        }
        func waiting(among taskIDs: [String]) async throws -> Set<String> {
            try alive()
            return try await base.waiting(among: taskIDs)
        }
        func removeAll() async {}
    }

    struct Replica {
        let queue: RecordingQueue
        let service: ResearchTaskService
        let runner: TaskRunner

        init(_ postgres: PostgresDatabase, id: String, retriever: any PassageRetriever, lease: Duration,
             running: Int = 3, grace: Duration = .seconds(10), poll: Duration = .milliseconds(50), claimsAtSubmission: Bool = false) {
            queue = RecordingQueue(PostgresTaskQueue(database: postgres, replicaID: id, leaseDuration: lease,
                                                     pollInterval: poll, logger: .quiet), claimsAtSubmission: claimsAtSubmission)
            service = Self.service(postgres, retriever: retriever)
            runner = TaskRunner(directory: TaskDirectory(service: service),
                                limits: .init(maximumRunning: running, maximumQueued: 100, shutdownGrace: grace),
                                queue: queue, logger: .quiet)
        }

        static func service(_ postgres: PostgresDatabase, retriever: any PassageRetriever) -> ResearchTaskService {
            let agents = ResearchAgents(planner: HeuristicPlanner(), researcher: RetrievalResearcher(retriever: retriever),
                                        evaluator: CoverageEvaluator(), synthesizer: ExtractiveSynthesizer(), checker: QuotationCitationChecker())
            return ResearchTaskService(store: PostgresEventStore(database: postgres), workflow: ResearchWorkflow(agents: agents))
        }
    }

    /// Generous: the whole test suite shares two cores; a condition that never comes true
    /// still fails, only later.
    private func waitUntil(_ condition: () async throws -> Bool, timeout: Duration = .seconds(90)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    private static func outcome<Value: Sendable>(_ body: () async throws -> Value) async -> Result<Value, any Error> {
        do {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }

    /// Runs `body` with two connection pools on one fresh database: two replicas' worth.
    private func withTwoPools(_ body: (PostgresTestDatabase, PostgresDatabase, PostgresDatabase) async throws -> Void) async throws {
        let database = try await PostgresTestDatabase.make("runner")
        let settings = try database.settings()
        try await PostgresDatabase.withDatabase(settings: settings, logger: .quiet) { first in
            try await PostgresDatabase.withDatabase(settings: settings, logger: .quiet) { second in
                try await body(database, first, second)
            }
        }
    }

    /// The steps a task recorded, as "type payload" lines, less `SubQuestionStarted` (a task
    /// taken over records that its pending sub-questions start again; that marks a new
    /// attempt, not a second result).
    private static func steps(of id: String, in service: ResearchTaskService) async throws -> [String] {
        try await service.store.read(stream: id).filter { $0.type != "SubQuestionStarted" }
            .map { "\($0.type) \($0.payload.base64EncodedString())" }
    }

    /// Every task completed with each step recorded once: no step twice, and the same steps
    /// (with the same contents) as a task of the same question that nothing interrupted.
    private func expectEachStepOnce(_ ids: [String], reference: String, in service: ResearchTaskService) async throws {
        let expected = try await Self.steps(of: reference, in: service).sorted()
        #expect(Set(expected).count == expected.count)
        #expect(expected.contains { $0.hasPrefix("TaskCompleted ") })
        for id in ids {
            #expect(try await service.state(of: id).phase == .completed, "task \(id)")
            let steps = try await Self.steps(of: id, in: service)
            #expect(steps.sorted() == expected, "task \(id) recorded \(steps.map { $0.prefix(while: { $0 != " " }) })")
        }
        let verification = try await service.store.verify()
        #expect(verification.breaks.isEmpty, "every hash chain is intact: \(verification.breaks)")
    }

    @Test func twoReplicasRunThirtyTasksEachExactlyOnce() async throws {
        try await withTwoPools { database, first, second in
            let one = Replica(first, id: "replica-1", retriever: OnePassage(delay: .milliseconds(5)), lease: .seconds(5), running: 2)
            let two = Replica(second, id: "replica-2", retriever: OnePassage(delay: .milliseconds(5)), lease: .seconds(5), running: 2)
            async let runOne: Void = one.runner.run()
            async let runTwo: Void = two.runner.run()
            var ids: [String] = []
            for index in 0..<30 {
                let replica = index.isMultiple(of: 2) ? one : two
                ids.append(try await replica.runner.submit(question: Self.question, principal: "p", contextID: nil).id)
            }
            #expect(try await waitUntil { try await one.service.unfinishedTasks().isEmpty })
            let claims = one.queue.claims.withLock { $0 } + two.queue.claims.withLock { $0 }
            #expect(claims.count == 30, "\(claims.count) claims for 30 tasks")
            #expect(Set(claims.map(\.taskID)) == Set(ids))
            #expect(claims.allSatisfy { $0.attempt == 1 }, "no task was claimed twice")
            #expect(!one.queue.claims.withLock { $0 }.isEmpty && !two.queue.claims.withLock { $0 }.isEmpty, "both replicas worked")
            // Each runner counts the tasks it queued that still wait: none, whoever ran them.
            #expect(try await waitUntil { one.runner.queuedCount == 0 && two.runner.queuedCount == 0 })
            // Waited for: a task's end is recorded before its row is released (a CI run looked in between).
            #expect(try await waitUntil { try await database.superuserSQL("SELECT count(*) FROM ares_task_queue") == "0" },
                    "an ended task leaves the queue")
            try await expectEachStepOnce(Array(ids.dropFirst()), reference: ids[0], in: one.service)
            one.runner.stop()
            two.runner.stop()
            _ = await (runOne, runTwo)
        }
    }

    /// A replica with a free worker writes its submission already claimed and runs it without
    /// a claim statement; with every worker busy, a submission waits unclaimed for a claim.
    @Test func aReplicaWithAFreeWorkerRunsItsSubmissionWithoutClaimingIt() async throws {
        try await withTwoPools { database, first, _ in
            let gate = Gate()
            let replica = Replica(first, id: "replica-1", retriever: gate, lease: .seconds(5), running: 2, claimsAtSubmission: true)
            async let run: Void = replica.runner.run()
            #expect(try await waitUntil { replica.runner.isRunning }, "claims at submission wait for a running runner")
            var ids: [String] = []
            for _ in 0..<2 { ids.append(try await replica.runner.submit(question: Self.question, principal: "p", contextID: nil).id) }
            #expect(try await waitUntil { replica.runner.runningCount == 2 })
            #expect(replica.queue.claims.withLock { $0 }.isEmpty, "no claim statement for them")
            #expect(try await database.superuserSQL("SELECT string_agg(lease_holder || ':' || attempts, ',') FROM ares_task_queue")
                    == "replica-1:1,replica-1:1")
            for _ in 0..<2 { ids.append(try await replica.runner.submit(question: Self.question, principal: "p", contextID: nil).id) }
            #expect(try await database.superuserSQL("SELECT count(*) FROM ares_task_queue WHERE lease_holder IS NULL") == "2",
                    "no free worker: queued unclaimed")
            #expect(replica.runner.runningCount == 2 && replica.runner.queuedCount == 2)
            gate.release()
            #expect(try await waitUntil { try await replica.service.unfinishedTasks().isEmpty })
            #expect(Set(replica.queue.claims.withLock { $0 }.map(\.taskID)) == Set(ids.suffix(2)), "claimed: only the two that waited")
            #expect(try await waitUntil { try await database.superuserSQL("SELECT count(*) FROM ares_task_queue") == "0" })
            #expect(try await waitUntil { replica.runner.queuedCount == 0 })
            try await expectEachStepOnce(Array(ids.dropFirst()), reference: ids[0], in: replica.service)
            replica.runner.stop()
            await run
        }
    }

    /// On PostgreSQL a submission is recorded and queued in one commit: the row is there as
    /// soon as `submit` returns (no `enqueue` call), owned by the submitter, and a runner that
    /// starts afterwards claims and completes it; the waiting count follows.
    @Test func aSubmittedTaskIsQueuedWithItsFirstEventAndRuns() async throws {
        try await withTwoPools { database, first, _ in
            let replica = Replica(first, id: "replica-1", retriever: OnePassage(delay: .milliseconds(5)), lease: .seconds(5), running: 2)
            let submitted = try await replica.runner.submit(question: Self.question, principal: "p", contextID: "ctx-1")
            #expect(submitted.isQueued && submitted.version == 1 && submitted.state.phase == .submitted)
            #expect(replica.queue.enqueues.withLock { $0 } == 0, "queued by the commit that recorded it, not by enqueue")
            #expect(try await database.superuserSQL("SELECT owner || ' ' || (lease_holder IS NULL)::text FROM ares_task_queue WHERE task_id = '\(submitted.id)'")
                    == "p true")
            #expect(try await replica.service.store.read(stream: submitted.id).map(\.type) == ["TaskSubmitted"])
            #expect(replica.runner.queuedCount == 1)
            #expect(replica.runner.directory.cachedSnapshot(of: submitted.id)?.updatedAt == submitted.updatedAt)

            async let run: Void = replica.runner.run()
            #expect(try await waitUntil { try await replica.service.state(of: submitted.id).phase == .completed })
            #expect(replica.queue.claims.withLock { $0 }.map(\.taskID) == [submitted.id])
            #expect(try await waitUntil { replica.runner.queuedCount == 0 })
            #expect(try await waitUntil { try await database.superuserSQL("SELECT count(*) FROM ares_task_queue") == "0" })
            // An invalid question is refused before anything is written.
            await #expect(throws: ResearchTaskError.self) { try await replica.runner.submit(question: "  ", principal: "p", contextID: nil) }
            #expect(try await database.superuserSQL("SELECT count(*) FROM ares_event_streams WHERE version > 0") == "1")
            replica.runner.stop()
            await run
        }
    }

    /// A replica that follows the change feed claims a task queued on another replica when the
    /// task's first event arrives, not at its next poll: here the poll is ten minutes away, and
    /// the submitting replica's runner does not run.
    @Test func aTaskQueuedElsewhereIsClaimedWhenItsFirstEventArrivesNotAtThePoll() async throws {
        try await withTwoPools { _, first, second in
            let submitter = Replica(first, id: "submitter", retriever: OnePassage(), lease: .seconds(5))
            let idle = Replica(second, id: "idle", retriever: OnePassage(), lease: .seconds(5), poll: .seconds(600))
            let feed = PostgresChangeFeed(database: second, logger: .quiet)
            let follower = TaskChangeFollower(runner: idle.runner, feed: feed, logger: .quiet)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await feed.run() }
                group.addTask { await follower.run() }
                group.addTask { await idle.runner.run() }
                defer { group.cancelAll() }
                #expect(try await waitUntil { feed.readsCompleted > 0 }, "the feed has made its first read")
                let id = try await submitter.runner.submit(question: Self.question, principal: "p", contextID: nil).id
                #expect(try await waitUntil({ try await idle.service.state(of: id).phase == .completed }, timeout: .seconds(120)),
                        "claimed and run on the idle replica long before its poll")
                #expect(idle.queue.claims.withLock { $0 }.map(\.taskID) == [id])
                idle.runner.stop()
            }
        }
    }

    /// A task queued on one replica and run by another stops counting as waiting on the first
    /// at its first step there, not at the first's next count of its waiting tasks (every
    /// lease/3), so its end does not send a withdrawal that finds nothing.
    @Test func aTaskQueuedHereStopsWaitingAtItsFirstStepElsewhere() async throws {
        try await withTwoPools { _, first, second in
            // Ten-minute leases: the submitter's count of its waiting tasks never runs here (nor
            // does its runner: the task can only run on the worker).
            let submitter = Replica(first, id: "submitter", retriever: OnePassage(), lease: .seconds(600))
            let worker = Replica(second, id: "worker", retriever: OnePassage(), lease: .seconds(600))
            let submitterFeed = PostgresChangeFeed(database: first, logger: .quiet)
            let workerFeed = PostgresChangeFeed(database: second, logger: .quiet)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await submitterFeed.run() }
                group.addTask { await TaskChangeFollower(runner: submitter.runner, feed: submitterFeed, logger: .quiet).run() }
                group.addTask { try await workerFeed.run() }
                group.addTask { await TaskChangeFollower(runner: worker.runner, feed: workerFeed, logger: .quiet).run() }
                group.addTask { await worker.runner.run() }
                defer { group.cancelAll() }
                #expect(try await waitUntil { submitterFeed.readsCompleted > 0 && workerFeed.readsCompleted > 0 })
                let id = try await submitter.runner.submit(question: Self.question, principal: "p", contextID: nil).id
                #expect(submitter.runner.queuedCount == 1)
                #expect(try await waitUntil { try await worker.service.state(of: id).phase == .completed })
                let end = try #require(try await worker.service.store.read(stream: id).last?.globalPosition)
                #expect(try await waitUntil { submitterFeed.position >= end }, "the submitter's feed read the task's end")
                #expect(try await waitUntil({ submitter.runner.queuedCount == 0 }, timeout: .seconds(30)),
                        "no longer waiting on the submitter once the worker recorded a step")
                try await Task.sleep(for: .milliseconds(500))  // the follower applies what the feed read
                #expect(submitter.queue.withdrawals.withLock { $0 } == 0, "the task's end sent no withdrawal")
                #expect(worker.queue.claims.withLock { $0 }.map(\.taskID) == [id])
                worker.runner.stop()
            }
        }
    }

    @Test func aDeadReplicasTasksAreTakenOverAfterTheirLeasesExpire() async throws {
        try await withTwoPools { database, first, second in
            let gate = Gate()
            let dying = Replica(first, id: "dying", retriever: gate, lease: .seconds(3), running: 3, grace: .milliseconds(100))
            let dyingRun = Task { await dying.runner.run() }
            var ids: [String] = []
            for _ in 0..<6 { ids.append(try await dying.runner.submit(question: Self.question, principal: "p", contextID: nil).id) }
            // Three run (each has recorded steps and waits inside research), three wait.
            #expect(try await waitUntil {
                try await dying.service.store.streams().filter { $0.lastType == "SubQuestionStarted" }.count == 3
            })
            let running = Set(dying.queue.claims.withLock { $0 }.map(\.taskID))
            #expect(running.count == 3)
            // The replica dies: nothing more reaches the database, its tasks are torn down.
            dying.queue.crash()
            dyingRun.cancel()
            await dyingRun.value
            await #expect(try database.superuserSQL("SELECT count(*) FROM ares_task_queue WHERE lease_holder = 'dying'") == "3",
                    "a dead replica releases nothing: its leases must expire")

            let survivor = Replica(second, id: "survivor", retriever: OnePassage(), lease: .seconds(5))
            async let survive: Void = survivor.runner.run()
            #expect(try await waitUntil { try await survivor.service.unfinishedTasks().isEmpty })
            let claims = survivor.queue.claims.withLock { $0 }
            #expect(Set(claims.map(\.taskID)) == Set(ids), "the survivor ran every task")
            #expect(claims.count == 6)
            for claim in claims {
                #expect(claim.attempt == (running.contains(claim.taskID) ? 2 : 1), "\(claim)")
            }
            let reference = try await survivor.runner.submit(question: Self.question, principal: "p", contextID: nil).id
            #expect(try await survivor.runner.directory.waitUntilEnded(reference, timeout: .seconds(60)).state.isTerminal)
            try await expectEachStepOnce(ids, reference: reference, in: survivor.service)
            survivor.runner.stop()
            await survive
        }
    }

    @Test func aStaleReplicasStepAfterATakeoverIsRefused() async throws {
        try await withTwoPools { database, first, second in
            let gate = Gate()
            let stale = Replica.service(first, retriever: gate)
            let fresh = Replica.service(second, retriever: OnePassage())
            let staleQueue = PostgresTaskQueue(database: first, replicaID: "stale", leaseDuration: .milliseconds(200), logger: .quiet)
            let freshQueue = PostgresTaskQueue(database: second, replicaID: "fresh", leaseDuration: .seconds(60), logger: .quiet)
            let id = try await stale.submit(question: Self.question, principal: "p")
            try await staleQueue.enqueue(id, owner: "p")
            let held = try #require(try await staleQueue.claim(excludingOwners: []))
            // The stale replica runs the task (no runner: nothing renews its lease or stops it)
            // until its research waits; meanwhile its lease expires and another replica takes over.
            async let staleRun = Self.outcome { try await stale.run(id) }
            #expect(try await waitUntil { gate.entered.withLock { $0 } > 0 })
            var takenOver: TaskClaim?
            #expect(try await waitUntil {
                takenOver = try await freshQueue.claim(excludingOwners: [])
                return takenOver != nil
            })
            #expect(takenOver?.attempt == 2)
            #expect(try await fresh.run(id).phase == .completed)
            await freshQueue.release(try #require(takenOver), .ended)
            let versionAfterTakeover = try await fresh.snapshot(of: id).version
            // The stale replica wakes up and tries to record its step: refused.
            gate.release()
            switch await staleRun {
            case .success(let state):
                Issue.record("the stale replica recorded its steps to the end: \(String(describing: state.phase))")
            case .failure(let error):
                guard case .versionConflict = error as? EventStoreError else {
                    Issue.record("expected a version conflict, got \(error)")
                    return
                }
            }
            #expect(try await staleQueue.renew([held]) == [held], "the stale replica is told it lost the lease")
            #expect(try await fresh.snapshot(of: id).version == versionAfterTakeover, "nothing was recorded after the task ended")
            let reference = try await fresh.submit(question: Self.question, principal: "p")
            _ = try await fresh.run(reference)
            try await expectEachStepOnce([id], reference: reference, in: fresh)
            await #expect(try database.superuserSQL("SELECT count(*) FROM ares_task_queue") == "0")
        }
    }

    @Test func aRunnerThatLosesALeaseStopsTheTaskWithoutRecordingMore() async throws {
        try await withTwoPools { database, first, _ in
            let gate = Gate()
            let replica = Replica(first, id: "loser", retriever: gate, lease: .seconds(3), running: 1)
            async let run: Void = replica.runner.run()
            let id = try await replica.runner.submit(question: Self.question, principal: "p", contextID: nil).id
            #expect(try await waitUntil { gate.entered.withLock { $0 } > 0 })
            let version = try await replica.service.snapshot(of: id).version
            // Another replica took the task over (as if this one had stalled past its lease).
            try await database.superuserSQL("""
                UPDATE ares_task_queue SET attempts = attempts + 1, lease_holder = 'intruder',
                    lease_expires_at = now() + interval '1 hour' WHERE task_id = '\(id)'
                """)
            #expect(try await waitUntil { replica.runner.runningCount == 0 }, "the renewal found the lease lost and stopped the task")
            gate.release()
            let state = try await replica.service.snapshot(of: id)
            #expect(state.version == version, "nothing was recorded after the lease was lost")
            #expect(!state.state.isTerminal, "the task is not canceled: it runs on elsewhere")
            await #expect(try database.superuserSQL("SELECT lease_holder || ' ' || attempts FROM ares_task_queue") == "intruder 2",
                    "the runner's release did not touch the claim that replaced its own")
            replica.runner.stop()
            await run
        }
    }

    @Test func aDrainedReplicaHandsItsTasksOverAtOnce() async throws {
        try await withTwoPools { database, first, second in
            let gate = Gate()
            // A lease far longer than the test: only an explicit release lets the other replica in.
            let draining = Replica(first, id: "draining", retriever: gate, lease: .seconds(600), running: 2, grace: .milliseconds(100))
            let drainRun = Task { await draining.runner.run() }
            var ids: [String] = []
            for _ in 0..<4 { ids.append(try await draining.runner.submit(question: Self.question, principal: "p", contextID: nil).id) }
            #expect(try await waitUntil { draining.runner.runningCount == 2 && gate.entered.withLock { $0 } >= 2 })
            draining.runner.stop()  // SIGTERM: a graceful shutdown
            await drainRun.value
            let rows = try await database.superuserSQL("SELECT count(*) || ' ' || count(lease_holder) FROM ares_task_queue")
            #expect(rows == "4 0", "every task is back in the queue, none still leased")

            let other = Replica(second, id: "other", retriever: OnePassage(), lease: .seconds(5))
            // Resuming at start queues nothing twice: every unfinished task already has its row.
            try await other.runner.resume(try await other.service.unfinishedTasks())
            async let run: Void = other.runner.run()
            #expect(try await waitUntil { try await other.service.unfinishedTasks().isEmpty })
            #expect(Set(other.queue.claims.withLock { $0 }.map(\.taskID)) == Set(ids))
            #expect(other.queue.claims.withLock { $0 }.count == 4)
            #expect(try await waitUntil { other.runner.queuedCount == 0 })
            let reference = try await other.runner.submit(question: Self.question, principal: "p", contextID: nil).id
            #expect(try await other.runner.directory.waitUntilEnded(reference, timeout: .seconds(60)).state.isTerminal)
            try await expectEachStepOnce(ids, reference: reference, in: other.service)
            other.runner.stop()
            await run
        }
    }
}
