import AresTestSupport
import Agents
import Foundation
import ResearchCore
import Storage
import Synchronization
import TaskService
import Testing

/// The runner's leases on a shared queue (issue 16), with a queue whose renewals fail on
/// demand (the database away) and a research step that ignores cancellation (a request lost
/// in a database outage): the interleaving behind "an acknowledged task stays SUBMITTED
/// after a PostgreSQL restart", reproduced in process.
@Suite struct TaskRunnerLeaseTests {
    /// A claim whose lease ran out while the database was away is over: the runner stops
    /// the task and must not renew that claim once the database is back, even while the run
    /// has not ended yet (it is stuck where cancellation does not reach). Renewed, the task
    /// would stay claimed by a run that never records a step, and no other replica could
    /// take it over; left alone, its lease expires and another replica runs it.
    @Test func aClaimWhoseLeaseRanOutIsNotRenewedWhileItsRunIsStuck() async throws {
        let retriever = StuckRetriever()
        let queue = FlakyLeasingQueue()
        let path = Self.temporaryStorePath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (service, runner) = try Self.runner(on: path, retriever: retriever, queue: queue, maximumRunning: 2)
        async let running: Void = runner.run()
        defer { retriever.releaseAll() }

        // The first task reaches research, where it hangs without noticing cancellation.
        let stuck = try await runner.submit(question: "How are tasks resumed after a crash?", principal: "tester", contextID: nil)
        #expect(try await Self.waitUntil { retriever.stuckCalls > 0 }, "the task never reached its research step")
        let stuckClaim = try #require(queue.claimed.first { $0.taskID == stuck.id })
        let stepsBefore = try await service.state(of: stuck.id).eventCount

        // The database goes away for longer than a lease: renewals fail, the lease runs out and
        // the runner asks the run to stop (which it does not notice).
        queue.failRenewals(true)
        #expect(try await Self.waitUntil { retriever.cancellations > 0 }, "the runner did not stop the task whose lease ran out")
        #expect(queue.failedRenewals > 0)
        queue.failRenewals(false)

        // Back: a second task runs (and waits, cancellably) so that renewals go on.
        retriever.stopSticking()
        let other = try await runner.submit(question: "Where does ares keep its data?", principal: "tester", contextID: nil)
        #expect(try await Self.waitUntil { queue.renewals(of: other.id) >= 3 }, "the running task's lease was not renewed")
        #expect(queue.renewals(of: stuck.id, attempt: stuckClaim.attempt, after: queue.recoveredAt) == 0,
                "the claim whose lease ran out was renewed after the database came back, by a run that records nothing")
        #expect(try await service.state(of: stuck.id).eventCount == stepsBefore, "the stuck run recorded a step after losing its lease")

        retriever.releaseAll()
        runner.stop()
        await running
        // The stuck run ends once released, without recording a step: its lease was lost.
        #expect(try await service.state(of: stuck.id).eventCount == stepsBefore)
    }

    /// A task is counted as waiting before its queue row is written (a worker may claim it
    /// before the write returns). The runner's periodic count of waiting tasks (which drops
    /// those another replica claimed) must not drop it because the queue did not have it yet:
    /// a CI run saw a task on PostgreSQL waiting while the runner counted none, and a count
    /// too low lets the queue limit admit more than it allows.
    @Test func aTaskBeingQueuedStaysCountedWhileItsRowIsWritten() async throws {
        let retriever = StuckRetriever()
        retriever.stopSticking()
        let queue = HeldEnqueueQueue()
        let path = Self.temporaryStorePath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (service, runner) = try Self.runner(on: path, retriever: retriever, queue: queue, maximumRunning: 1)
        async let running: Void = runner.run()
        defer {
            queue.releaseEnqueues()
            retriever.releaseAll()
        }

        // One task runs (held in research), one waits in the queue with its row written.
        _ = try await runner.submit(question: "How are tasks resumed after a crash?", principal: "tester", contextID: nil)
        #expect(try await Self.waitUntil { runner.runningCount == 1 })
        _ = try await runner.submit(question: "Where does ares keep its data?", principal: "tester", contextID: nil)
        #expect(runner.queuedCount == 1)

        // A third one's row is being written while the runner counts the waiting tasks twice.
        queue.holdEnqueues()
        async let third = runner.submit(question: "How is a task canceled?", principal: "tester", contextID: nil)
        #expect(try await Self.waitUntil { queue.heldEnqueues == 1 })
        let countsBefore = queue.waitingQueries
        #expect(try await Self.waitUntil { queue.waitingQueries >= countsBefore + 2 }, "the runner did not count its waiting tasks")
        #expect(runner.queuedCount == 2, "the task whose row is being written was dropped from the count")
        queue.releaseEnqueues()
        _ = try await third
        #expect(runner.queuedCount == 2)

        retriever.releaseAll()
        // Three tasks on a test process whose every test starts at once: minutes, on a loaded CI run.
        let allFinished = try await Self.waitUntil(timeout: .seconds(240)) { try await service.unfinishedTasks().isEmpty }
        var unfinished: [String] = []
        for id in try await service.unfinishedTasks() { unfinished.append("\(id) (\(try await service.state(of: id).eventCount) events)") }
        #expect(allFinished, """
            unfinished: \(unfinished); running \(runner.runningCount), queued \(runner.queuedCount), \
            claims given up \(queue.givenUpClaims)
            """)
        #expect(try await Self.waitUntil { runner.queuedCount == 0 })
        runner.stop()
        await running
    }

    /// A submission whose queue row is being written holds one place, not two. Counted both as
    /// waiting and as still reserved, it took two, and a burst was refused below the limits (a
    /// CI run on PostgreSQL admitted 2 of 30 simultaneous submissions to 1 worker and 2 queue
    /// places).
    @Test func aSubmissionBeingWrittenTakesOnePlace() async throws {
        let retriever = StuckRetriever()
        retriever.stopSticking()
        let queue = HeldEnqueueQueue()
        let path = Self.temporaryStorePath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (service, runner) = try Self.runner(on: path, retriever: retriever, queue: queue, maximumRunning: 1, maximumQueued: 2)
        async let running: Void = runner.run()
        defer {
            queue.releaseEnqueues()
            retriever.releaseAll()
        }

        // One task runs (held in research); the next one's queue row is being written.
        _ = try await runner.submit(question: "How are tasks resumed after a crash?", principal: "tester", contextID: nil)
        #expect(try await Self.waitUntil { runner.runningCount == 1 })
        queue.holdEnqueues()
        async let second = Self.failure { _ = try await runner.submit(question: "Where does ares keep its data?", principal: "tester", contextID: nil) }
        #expect(try await Self.waitUntil { queue.heldEnqueues == 1 })

        // The second queue place is free: a third submission is admitted (its row is held too).
        async let third = Self.failure { _ = try await runner.submit(question: "How is a task canceled?", principal: "tester", contextID: nil) }
        let admitted = try await Self.waitUntil(timeout: .seconds(30)) { queue.heldEnqueues == 2 }
        #expect(admitted, "the third submission was refused although one task ran and one waited")
        // Now the limits are reached: a fourth is refused.
        await #expect(throws: TaskAdmissionError.self) {
            _ = try await runner.submit(question: "What is a lease?", principal: "tester", contextID: nil)
        }

        queue.releaseEnqueues()
        let secondFailure = await second
        let thirdFailure = await third
        #expect(secondFailure == nil, "\(String(describing: secondFailure))")
        #expect(thirdFailure == nil, "\(String(describing: thirdFailure))")
        retriever.releaseAll()
        #expect(try await Self.waitUntil(timeout: .seconds(240)) { try await service.unfinishedTasks().isEmpty })
        runner.stop()
        await running
    }

    /// The error `body` throws, nil when it returns.
    private static func failure(_ body: () async throws -> Void) async -> (any Error)? {
        do {
            try await body()
            return nil
        } catch {
            return error
        }
    }

    private static func temporaryStorePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ares-lease-\(UUID().uuidString).sqlite").path
    }

    /// A runner of built-in agents over an event store at `path`, researching with `retriever`.
    private static func runner(on path: String, retriever: some PassageRetriever, queue: some TaskWorkQueue,
                               maximumRunning: Int, maximumQueued: Int = 10) throws -> (ResearchTaskService, TaskRunner) {
        let agents = ResearchAgents(planner: HeuristicPlanner(), researcher: RetrievalResearcher(retriever: retriever),
                                    evaluator: CoverageEvaluator(), synthesizer: ExtractiveSynthesizer(), checker: QuotationCitationChecker())
        let service = ResearchTaskService(store: try SQLiteEventStore(path: path), workflow: ResearchWorkflow(agents: agents))
        let runner = TaskRunner(directory: TaskDirectory(service: service),
                                limits: .init(maximumRunning: maximumRunning, maximumQueued: maximumQueued, shutdownGrace: .seconds(1)), queue: queue)
        return (service, runner)
    }

    private static func waitUntil(timeout: Duration = .seconds(120), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}

/// A work queue with leases (as on PostgreSQL) kept in memory: claims come from an
/// `InProcessTaskQueue`, renewals are logged and can be made to fail (the database away).
private final class FlakyLeasingQueue: TaskWorkQueue {
    /// Short, so that the test is quick; long enough that a renewal on a loaded machine
    /// (every test of the suite starts at once) comes back within it.
    static let lease = Duration.seconds(1)

    private struct Log {
        var failing = false
        var failed = 0
        var claimed: [TaskClaim] = []
        var attempts = 0
        var recoveredAt = 0
        /// Every successful renewal: its sequence number and the claims it renewed.
        var renewed: [(sequence: Int, claims: [TaskClaim])] = []
        var sequence = 0
    }

    private let inner = InProcessTaskQueue()
    private let log = Mutex(Log())

    var leaseDuration: Duration? { Self.lease }
    var pollInterval: Duration? { .milliseconds(20) }

    func failRenewals(_ failing: Bool) {
        log.withLock { log in
            log.failing = failing
            if !failing { log.recoveredAt = log.sequence }
        }
    }

    var failedRenewals: Int { log.withLock { $0.failed } }
    var claimed: [TaskClaim] { log.withLock { $0.claimed } }
    var recoveredAt: Int { log.withLock { $0.recoveredAt } }

    func renewals(of taskID: String, attempt: Int64? = nil, after sequence: Int = 0) -> Int {
        log.withLock { log in
            log.renewed.filter { $0.sequence > sequence && $0.claims.contains { $0.taskID == taskID && (attempt == nil || $0.attempt == attempt) } }.count
        }
    }

    func enqueue(_ taskID: String, owner: String?) -> Bool { inner.enqueue(taskID, owner: owner) }

    func claim(excludingOwners excludedOwners: Set<String>) -> TaskClaim? {
        guard var claim = inner.claim(excludingOwners: excludedOwners) else { return nil }
        return log.withLock { log in
            log.attempts += 1
            claim.attempt = Int64(log.attempts)
            log.claimed.append(claim)
            return claim
        }
    }

    struct Unreachable: Error {}

    func renew(_ claims: [TaskClaim]) throws -> [TaskClaim] {
        try log.withLock { log in
            log.sequence += 1
            if log.failing {
                log.failed += 1
                throw Unreachable()
            }
            log.renewed.append((log.sequence, claims))
            return []
        }
    }

    func release(_ claim: TaskClaim, _ end: TaskClaimEnd) {}
    func withdraw(_ taskID: String) -> TaskClaim? { inner.withdraw(taskID) }
    func waiting(among taskIDs: [String]) -> Set<String> { inner.waiting(among: taskIDs) }
    func removeAll() { inner.removeAll() }
}

/// A work queue with leases kept in memory whose `enqueue` can be held (a commit in flight),
/// counting the runner's questions about which tasks still wait.
private final class HeldEnqueueQueue: TaskWorkQueue {
    private let inner = InProcessTaskQueue()
    private let enqueues = ReleasableWait(holding: false)
    private let queries = Mutex(0)
    private let givenUp = Mutex(0)

    /// The runner counts its waiting tasks every third of a lease. Long enough that a loaded
    /// machine renews in time (renewals always succeed here; a CI run that stalled past a
    /// 300 ms lease stopped the running task as lost); a run stopped all the same is claimed
    /// again (`release`).
    var leaseDuration: Duration? { .seconds(6) }
    var pollInterval: Duration? { .milliseconds(20) }
    var heldEnqueues: Int { enqueues.held }
    var waitingQueries: Int { queries.withLock { $0 } }

    func holdEnqueues() { enqueues.hold() }
    func releaseEnqueues() { enqueues.release() }

    func enqueue(_ taskID: String, owner: String?) async -> Bool {
        await enqueues.wait()
        return inner.enqueue(taskID, owner: owner)
    }

    func claim(excludingOwners excludedOwners: Set<String>) -> TaskClaim? { inner.claim(excludingOwners: excludedOwners) }
    func renew(_ claims: [TaskClaim]) -> [TaskClaim] { [] }

    /// A claim given up goes back to the queue, as on PostgreSQL: a run stopped because its
    /// renewal came back after the lease (a CI run starved the test process for minutes) is
    /// claimed again, not left unfinished with nobody to take it over.
    func release(_ claim: TaskClaim, _ end: TaskClaimEnd) {
        if end == .givenUp { givenUp.withLock { $0 += 1 } }
        inner.release(claim, end)
    }

    var givenUpClaims: Int { givenUp.withLock { $0 } }
    func withdraw(_ taskID: String) -> TaskClaim? { inner.withdraw(taskID) }

    func waiting(among taskIDs: [String]) -> Set<String> {
        queries.withLock { $0 += 1 }
        return inner.waiting(among: taskIDs)
    }

    func removeAll() { inner.removeAll() }
}

/// Retrievals begun while "sticking" wait without noticing cancellation until `releaseAll()`
/// (a call lost where cancellation does not reach); later ones wait cancellably.
private final class StuckRetriever: PassageRetriever {
    private struct Contents {
        var sticking = true
        var stuckCalls = 0
        var cancellations = 0
    }

    private let contents = Mutex(Contents())
    private let gate = ReleasableWait(holding: true)

    var stuckCalls: Int { contents.withLock { $0.stuckCalls } }
    /// Stuck retrievals whose task was canceled (they go on waiting).
    var cancellations: Int { contents.withLock { $0.cancellations } }

    func stopSticking() { contents.withLock { $0.sticking = false } }
    func releaseAll() { gate.release() }

    func retrieve(_ query: String, limit: Int) async throws -> [RetrievedPassage] {
        let sticking = contents.withLock { contents in
            if contents.sticking { contents.stuckCalls += 1 }
            return contents.sticking
        }
        if sticking {
            await withTaskCancellationHandler {
                await gate.wait()
            } onCancel: {
                contents.withLock { $0.cancellations += 1 }
            }
        } else {
            while gate.isHolding { try await Task.sleep(for: .milliseconds(5)) }
        }
        return try await OnePassageRetriever().retrieve(query, limit: limit)
    }
}

/// Callers of `wait()` are held while `hold()` is in force, and all go on at `release()`;
/// a caller that arrives while nothing is held goes on at once. Not cancellable: a held caller
/// waits for the release whatever happens to its task (a call lost where cancellation does
/// not reach).
private final class ReleasableWait: Sendable {
    private struct State {
        var holding: Bool
        var waiters: [CheckedContinuation<Void, Never>] = []
        var held = 0
    }

    private let state: Mutex<State>

    init(holding: Bool) {
        state = Mutex(State(holding: holding))
    }

    var isHolding: Bool { state.withLock { $0.holding } }
    /// How many callers have been held so far.
    var held: Int { state.withLock { $0.held } }

    func hold() { state.withLock { $0.holding = true } }

    func release() {
        let waiters = state.withLock { state in
            state.holding = false
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let goOn = state.withLock { state -> Bool in
                guard state.holding else { return true }
                state.held += 1
                state.waiters.append(continuation)
                return false
            }
            if goOn { continuation.resume() }
        }
    }
}
