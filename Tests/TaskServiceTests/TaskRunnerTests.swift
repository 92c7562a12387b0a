import AresTestSupport
import Agents
import Foundation
import ResearchCore
import Storage
import Synchronization
import TaskService
import Testing

/// The task runner in process, over a real SQLite event store: claiming within the worker
/// limit, canceling waiting and running tasks, stopping with tasks running and waiting, a
/// crash, and what subscribers see. Races a client over the network hits only now and then
/// are reproduced here on purpose.
@Suite struct TaskRunnerTests {
    typealias OnePassage = OnePassageRetriever
    typealias Gate = GatedRetriever

    struct Engine {
        var path: String
        var service: ResearchTaskService
        var runner: TaskRunner
    }

    private static func engine(_ retriever: any PassageRetriever, path: String? = nil, running: Int = 2, queued: Int = 100,
                               grace: Duration = .seconds(10)) throws -> Engine {
        let path = path ?? FileManager.default.temporaryDirectory.appendingPathComponent("ares-runner-\(UUID().uuidString).sqlite").path
        let agents = ResearchAgents(planner: HeuristicPlanner(), researcher: RetrievalResearcher(retriever: retriever),
                                    evaluator: CoverageEvaluator(), synthesizer: ExtractiveSynthesizer(), checker: QuotationCitationChecker())
        let service = ResearchTaskService(store: try SQLiteEventStore(path: path), workflow: ResearchWorkflow(agents: agents))
        let runner = TaskRunner(directory: TaskDirectory(service: service),
                                limits: .init(maximumRunning: running, maximumQueued: queued, shutdownGrace: grace))
        return Engine(path: path, service: service, runner: runner)
    }

    /// Generous: the whole test suite shares two cores with servers and browsers; a condition
    /// that never comes true still fails, only later.
    private func waitUntil(_ condition: () async throws -> Bool, timeout: Duration = .seconds(240)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    @Test func aTaskCanceledAsItIsTakenUpEndsCanceledNotLeftSubmitted() async throws {
        let engine = try Self.engine(OnePassage())
        defer { try? FileManager.default.removeItem(atPath: engine.path) }
        let runner = engine.runner
        async let running: Void = runner.run()
        // Submitting starts the task at once (a worker is free); canceling right after reaches
        // it before it has read its own events, let alone recorded a step.
        for index in 0..<20 {
            let submitted = try await runner.submit(question: "How are tasks resumed, take \(index)?", principal: "tester", contextID: nil)
            let after = try await runner.cancel(submitted.id, reason: "canceled by the test")
            #expect(after.state.phase == .canceled, "task \(index) ended \(String(describing: after.state.phase))")
            let stored = try await engine.service.state(of: submitted.id)
            #expect(stored.phase == .canceled, "the store says \(String(describing: stored.phase))")
        }
        #expect(try await engine.service.unfinishedTasks().isEmpty, "no task is left for a restart to run")
        runner.stop()
        await running
    }

    @Test func claimsWithinTheWorkerLimitInOrderAndFinishesEverything() async throws {
        let gate = Gate()
        let engine = try Self.engine(gate, running: 2)
        defer { try? FileManager.default.removeItem(atPath: engine.path) }
        let runner = engine.runner
        async let running: Void = runner.run()
        var ids: [String] = []
        for index in 0..<5 { ids.append(try await runner.submit(question: "Question \(index) about tasks?", principal: "p", contextID: nil).id) }
        #expect(try await waitUntil { runner.runningCount == 2 })
        #expect(runner.queuedCount == 3)
        // The first two submitted are the ones running.
        #expect(runner.directory.cachedSnapshot(of: ids[0])?.isQueued == false)
        #expect(runner.directory.cachedSnapshot(of: ids[1])?.isQueued == false)
        #expect(runner.directory.cachedSnapshot(of: ids[4])?.isQueued == true)
        gate.release()
        #expect(try await waitUntil { try await engine.service.unfinishedTasks().isEmpty })
        for id in ids { #expect(try await engine.service.state(of: id).phase == .completed) }
        #expect(runner.runningCount == 0 && runner.queuedCount == 0)
        runner.stop()
        await running
    }

    @Test func waitingAndRunningTasksCanBeCanceled() async throws {
        let gate = Gate()
        let engine = try Self.engine(gate, running: 1)
        defer { try? FileManager.default.removeItem(atPath: engine.path) }
        let runner = engine.runner
        async let running: Void = runner.run()
        let first = try await runner.submit(question: "What runs first?", principal: "p", contextID: nil)
        let second = try await runner.submit(question: "What waits?", principal: "p", contextID: nil)
        #expect(try await waitUntil { gate.entered.withLock { $0 } >= 1 })
        let waiting = try await runner.cancel(second.id, reason: "no longer needed")
        #expect(waiting.state.phase == .canceled)
        #expect(waiting.state.endReason == "no longer needed")
        let runningTask = try await runner.cancel(first.id, reason: "stop it")
        #expect(runningTask.state.phase == .canceled)
        #expect(try await engine.service.state(of: first.id).phase == .canceled)
        #expect(gate.entered.withLock { $0 } == 1, "the canceled waiting task never ran")
        #expect(runner.runningCount == 0 && runner.queuedCount == 0)
        runner.stop()
        await running
    }

    @Test func stoppingLetsRunningTasksStopAtAStepAndLeavesTheRestToResume() async throws {
        let gate = Gate()
        let engine = try Self.engine(gate, running: 2, grace: .milliseconds(300))
        defer { try? FileManager.default.removeItem(atPath: engine.path) }
        let runner = engine.runner
        let run = Task { await runner.run() }
        var ids: [String] = []
        for index in 0..<6 { ids.append(try await runner.submit(question: "Stopping question \(index)?", principal: "p", contextID: nil).id) }
        #expect(try await waitUntil { runner.runningCount == 2 })
        let started = ContinuousClock.now
        runner.stop()
        await run.value
        // The blocked tasks never end by themselves: without the grace, stopping would wait for
        // ever. The bound is loose because the machine may be loaded.
        #expect(ContinuousClock.now - started < .seconds(30), "stopping waited for blocked tasks beyond the grace")
        await #expect(throws: TaskAdmissionError.self) { try await runner.submit(question: "Too late?", principal: "p", contextID: nil) }
        // Nothing ended: every task is unfinished in the store, and a new runner finishes them.
        #expect(Set(try await engine.service.unfinishedTasks()) == Set(ids))
        let restarted = try Self.engine(OnePassage(), path: engine.path)
        try await restarted.runner.resume(try await restarted.service.unfinishedTasks())
        async let running: Void = restarted.runner.run()
        #expect(try await waitUntil { try await restarted.service.unfinishedTasks().isEmpty })
        for id in ids { #expect(try await restarted.service.state(of: id).phase == .completed) }
        restarted.runner.stop()
        await running
    }

    @Test func aCrashedRunnerLosesNothingRecorded() async throws {
        let gate = Gate()
        let engine = try Self.engine(gate, running: 2)
        defer { try? FileManager.default.removeItem(atPath: engine.path) }
        let runner = engine.runner
        let run = Task { await runner.run() }
        var ids: [String] = []
        for index in 0..<4 { ids.append(try await runner.submit(question: "Crash question \(index)?", principal: "p", contextID: nil).id) }
        #expect(try await waitUntil { runner.runningCount == 2 })
        // No graceful stop: the runner's tasks are torn down as a dying process's would be.
        run.cancel()
        await run.value
        #expect(Set(try await engine.service.unfinishedTasks()) == Set(ids))
        let restarted = try Self.engine(OnePassage(), path: engine.path)
        try await restarted.runner.resume(ids)
        async let running: Void = restarted.runner.run()
        #expect(try await waitUntil { try await restarted.service.unfinishedTasks().isEmpty })
        #expect(try await restarted.service.store.verify().breaks.isEmpty, "every hash chain is intact")
        restarted.runner.stop()
        await running
    }

    @Test func workDoneBeforeQueueingIsDoneBeforeAnyStepAndSubscribersSeeTheStoredEvents() async throws {
        let engine = try Self.engine(OnePassage())
        defer { try? FileManager.default.removeItem(atPath: engine.path) }
        let runner = engine.runner
        async let running: Void = runner.run()
        let versionsSeen = Mutex<[Int64]>([])
        let submitted = try await runner.submit(question: "When are webhooks stored?", principal: "p", contextID: nil) { snapshot in
            // A worker is free, yet nothing may run before this returns.
            try await Task.sleep(for: .milliseconds(200))
            let version = try await engine.service.snapshot(of: snapshot.id).version
            versionsSeen.withLock { $0.append(version) }
        }
        #expect(versionsSeen.withLock { $0 } == [1], "the task ran before the work meant to precede it")
        let subscription = try #require(runner.directory.subscribe(to: submitted.id))
        var updates: [TaskUpdate] = []
        for await update in subscription.updates { updates.append(update) }
        let stored = try await engine.service.events(of: submitted.id).map(\.stored)
        #expect(!updates.isEmpty)
        for update in updates {
            #expect(update.snapshot.version == update.stored.version)
            #expect(update.snapshot.updatedAt == update.stored.recordedAt)
            let match = stored.first { $0.version == update.stored.version }
            #expect(match?.hash == update.stored.hash && match?.recordedAt == update.stored.recordedAt)
        }
        #expect(updates.last?.snapshot.state.phase == .completed)
        runner.stop()
        await running
    }

    @Test func aTaskWhosePreparationFailsIsRecordedCanceledAndNeverRuns() async throws {
        let engine = try Self.engine(OnePassage())
        defer { try? FileManager.default.removeItem(atPath: engine.path) }
        let runner = engine.runner
        async let running: Void = runner.run()
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            _ = try await runner.submit(question: "Will this run?", principal: "p", contextID: nil) { _ in throw Refused() }
        }
        #expect(try await engine.service.unfinishedTasks().isEmpty)
        #expect(runner.queuedCount == 0)
        runner.stop()
        await running
    }

    /// Free workers are filled a batch per claim; a batch never takes more of one principal's
    /// tasks than their running quota leaves room for.
    @Test func aClaimBatchStaysWithinAPrincipalsRunningQuota() async throws {
        let gate = Gate()
        let engine = try Self.engine(gate, running: 8)
        defer { try? FileManager.default.removeItem(atPath: engine.path) }
        let runner = engine.runner
        // Queued before the runner starts, so that its first claim sees all nine waiting.
        let quota = TaskQuota(maximumQueued: 10, maximumRunning: 2)
        for index in 0..<6 {
            _ = try await runner.submit(question: "Alice asks \(index)?", principal: "alice", quota: quota, contextID: nil)
        }
        for index in 0..<3 {
            _ = try await runner.submit(question: "Bob asks \(index)?", principal: "bob", quota: .unlimited, contextID: nil)
        }
        #expect(runner.queuedCount == 9)
        async let running: Void = runner.run()
        #expect(try await waitUntil { gate.entered.withLock { $0 } == 5 }, "alice's 2 and bob's 3 start")
        try await Task.sleep(for: .milliseconds(200))
        #expect(runner.runningCount == 5, "no claim batch took a third task of alice's")
        #expect(runner.queuedCount == 4)
        gate.release()
        #expect(try await waitUntil { try await engine.service.unfinishedTasks().isEmpty })
        runner.stop()
        await running
    }

    @Test func aPrincipalsQuotaRefusesItsOwnTasksOnly() async throws {
        let gate = Gate()
        let engine = try Self.engine(gate, running: 1)
        defer { try? FileManager.default.removeItem(atPath: engine.path) }
        let runner = engine.runner
        async let running: Void = runner.run()
        let quota = TaskQuota(maximumQueued: 2, maximumRunning: 1)
        var refused: TaskAdmissionError?
        for index in 0..<6 {
            do {
                _ = try await runner.submit(question: "Alice asks \(index)?", principal: "alice", quota: quota, contextID: nil)
            } catch let error as TaskAdmissionError {
                refused = error
                break
            }
        }
        #expect(refused?.isPrincipalQuota == true)
        _ = try await runner.submit(question: "Bob asks?", principal: "bob", quota: quota, contextID: nil)
        gate.release()
        #expect(try await waitUntil { try await engine.service.unfinishedTasks().isEmpty })
        runner.stop()
        await running
    }
}
