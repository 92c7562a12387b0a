import Foundation
import Logging
import ResearchCore
import ServiceLifecycle
import Storage
import Synchronization

/// Why the runner refused a task: every worker and queue place is taken, the principal has
/// used up its quota, or the runner is stopping. Carries a hint of when to retry.
public struct TaskAdmissionError: Error, Sendable, CustomStringConvertible {
    public var retryAfterSeconds: Int
    public var description: String
    /// The principal's own quota was reached (the runner itself has room for others).
    public var isPrincipalQuota = false
}

/// How many tasks one principal may have waiting and running at once; nil: only the
/// runner's own limits apply.
public struct TaskQuota: Sendable, Equatable {
    public var maximumQueued: Int?
    public var maximumRunning: Int?

    public init(maximumQueued: Int? = nil, maximumRunning: Int? = nil) {
        self.maximumQueued = maximumQueued
        self.maximumRunning = maximumRunning
    }

    public static let unlimited = TaskQuota()
}

/// Stopping refuses to record further steps; the task stays unfinished in the store and
/// resumes at the next start.
struct RunnerStopping: Error, CustomStringConvertible {
    var description: String { "the runner is stopping; the task resumes at the next start" }
}

/// Runs research tasks on a bounded number of workers, fed by a work queue, with admission
/// control: when every worker and queue place is taken (or the principal's quota is used up) a
/// new task is refused with a retry hint, never queued without bound. Tasks are durable before
/// they are queued, so the queue holds only ids.
///
/// A swift-service-lifecycle `Service`: `run()` owns every worker as a child task. A graceful
/// shutdown (or `stop()`) stops claiming, lets running tasks reach their next recorded step (at
/// most `Limits.shutdownGrace`), then cancels them without recording more; waiting tasks stay
/// unfinished in the store and resume at the next start.
public final class TaskRunner: Service, Sendable {
    public struct Limits: Sendable {
        public var maximumRunning: Int
        public var maximumQueued: Int
        public var shutdownGrace: Duration

        public init(maximumRunning: Int = 4, maximumQueued: Int = 1000, shutdownGrace: Duration = .seconds(10)) {
            self.maximumRunning = maximumRunning
            self.maximumQueued = maximumQueued
            self.shutdownGrace = shutdownGrace
        }
    }

    private enum Signal { case work, stop }

    /// A running task: how to ask it to stop, and who waits for it to end.
    private final class RunningTask: Sendable {
        let cancelRequests: AsyncStream<Void>
        let requestCancel: AsyncStream<Void>.Continuation
        let ended = Completion()

        init() {
            (cancelRequests, requestCancel) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        }
    }

    private struct State {
        var running: [String: RunningTask] = [:]
        /// Why running tasks were canceled, for those the cancellation stops before their
        /// workflow can record it.
        var cancelReasons: [String: String] = [:]
        /// Places promised to submissions whose first event is being written.
        var reserved = 0
        var queued = 0
        var stopping = false
        /// Mean seconds per task (exponentially weighted), for the retry hint.
        var meanTaskSeconds = 0.5
        /// How many tasks each principal has waiting and running, with the quota its role had
        /// at its last submission (tasks resumed after a restart count, under no quota).
        var queuedBy: [String: Int] = [:]
        var runningBy: [String: Int] = [:]
        var quotas: [String: TaskQuota] = [:]

        func mayStart(_ owner: String?) -> Bool {
            guard let owner, let limit = quotas[owner]?.maximumRunning else { return true }
            return runningBy[owner, default: 0] < limit
        }

        mutating func forget(_ owner: String) {
            if runningBy[owner] == 0 { runningBy[owner] = nil }
            if queuedBy[owner] == 0 { queuedBy[owner] = nil }
            if runningBy[owner] == nil, queuedBy[owner] == nil { quotas[owner] = nil }
        }
    }

    public let limits: Limits
    public let directory: TaskDirectory
    public let queue: any TaskWorkQueue
    private let logger: Logger
    private let state = Mutex(State())
    private let signals: AsyncStream<Signal>
    private let signal: AsyncStream<Signal>.Continuation

    public init(directory: TaskDirectory, limits: Limits, queue: any TaskWorkQueue = InProcessTaskQueue(),
                logger: Logger = Logger(label: "ares-tasks")) {
        self.directory = directory
        self.limits = limits
        self.queue = queue
        self.logger = logger
        (signals, signal) = AsyncStream.makeStream(of: Signal.self, bufferingPolicy: .bufferingNewest(1))
    }

    public var service: ResearchTaskService { directory.service }
    public var queuedCount: Int { state.withLock { $0.queued } }
    public var runningCount: Int { state.withLock { $0.running.count } }

    // MARK: Running

    /// Claims and runs tasks until a graceful shutdown or `stop()`; call it once. Canceling it
    /// stops at once, recording nothing more (unfinished tasks resume at the next start).
    public func run() async {
        await withTaskCancellationHandler {
            await runWorkers()
        } onCancel: {
            self.stop()
        }
    }

    private func runWorkers() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.directory.sweepExpiredSubscriptions() }
            await withGracefulShutdownHandler {
                for await signal in signals {
                    // The flag, not only the signal: a `.work` signal yielded after `.stop` replaces
                    // it in the one-element buffer.
                    guard signal == .work, !state.withLock({ $0.stopping }) else { break }
                    await startWaiting(in: &group)
                }
            } onGracefulShutdown: {
                self.stop()
            }
            logger.info("stopping: letting running tasks reach a recorded step", metadata: [
                "running": .stringConvertible(runningCount), "queued": .stringConvertible(queuedCount),
            ])
            await queue.removeAll()
            state.withLock { state in
                state.queued = 0
                state.queuedBy = [:]
            }
            await letRunningTasksReachAStep()
            group.cancelAll()
            logger.info("stopped; unfinished tasks resume at the next start")
        }
    }

    /// Stops claiming tasks; `run()` then ends as a graceful shutdown would end it.
    public func stop() {
        let first = state.withLock { state in
            defer { state.stopping = true }
            return !state.stopping
        }
        if first { signal.yield(.stop) }
    }

    /// Starts waiting tasks while workers are free, each as a child task of `run()`.
    private func startWaiting(in group: inout DiscardingTaskGroup) async {
        while state.withLock({ !$0.stopping && $0.running.count < limits.maximumRunning }) {
            let claim: TaskClaim?
            do {
                claim = try await queue.claim { owner in self.state.withLock { $0.mayStart(owner) } }
            } catch {
                return
            }
            guard let claim else { return }
            let running = RunningTask()
            let started = state.withLock { state -> Bool in
                guard !state.stopping, state.running[claim.taskID] == nil else { return false }
                state.queued = max(0, state.queued - 1)
                if let owner = claim.owner {
                    state.queuedBy[owner, default: 1] -= 1
                    state.runningBy[owner, default: 0] += 1
                }
                state.running[claim.taskID] = running
                return true
            }
            guard started else {
                await queue.release(claim)
                continue
            }
            group.addTask { await self.execute(claim, running) }
        }
    }

    /// How long a task whose step the storage refused waits before trying again: doubling from
    /// the first to the longest, so that a freed disk is noticed within seconds without
    /// redoing a step many times a second while it is full.
    static let firstStoragePause = Duration.milliseconds(250)
    static let longestStoragePause = Duration.seconds(5)

    private enum WorkflowEnd {
        case finished
        case failed(any Error)
        case cancelRequested
    }

    private func execute(_ claim: TaskClaim, _ running: RunningTask) async {
        let id = claim.taskID
        let started = ContinuousClock.now
        directory.markStarted(id)
        let directory = self.directory
        // The workflow and a watcher of cancel requests race; a request cancels the workflow,
        // which then ends without recording more.
        let end = await withTaskGroup(of: WorkflowEnd.self) { group -> WorkflowEnd in
            group.addTask {
                var pause = Self.firstStoragePause
                while true {
                    do {
                        _ = try await self.service.run(id, beforeRecording: { [self] _ in
                            // Stopping, or canceled without anyone asking to cancel this task (the
                            // runner itself was torn down): record nothing more, so the task
                            // resumes at the next start instead of ending as canceled.
                            let stopping = self.state.withLock { $0.stopping || (Task.isCancelled && $0.cancelReasons[id] == nil) }
                            if stopping { throw RunnerStopping() }
                        }, observe: { stored, event in
                            directory.publish(id, stored: stored, event: event)
                        })
                        return .finished
                    } catch {
                        // The disk is full or read-only: the task is not failed for it. It
                        // pauses at its last recorded step and tries again (from the store's
                        // events, so a step whose commit is in doubt is never recorded twice)
                        // until the storage takes writes again, the task is canceled, or the
                        // runner stops (then the next start resumes it).
                        guard let refused = StorageUnavailableError.classify(error), !Task.isCancelled,
                              !self.state.withLock({ $0.stopping }) else { return .failed(error) }
                        if pause == Self.firstStoragePause {
                            self.logger.warning("a task step could not be recorded: the task waits until the storage takes writes again", metadata: [
                                "task": .string(id), "reason": .string(refused.reason.rawValue), "detail": .string(refused.detail),
                            ])
                        }
                        do {
                            try await Task.sleep(for: pause)
                        } catch {
                            return .failed(error)
                        }
                        pause = min(pause * 2, Self.longestStoragePause)
                    }
                }
            }
            group.addTask {
                for await _ in running.cancelRequests { return .cancelRequested }
                return .cancelRequested
            }
            var end = await group.next() ?? .finished
            group.cancelAll()
            if case .cancelRequested = end { end = await group.next() ?? .finished }
            return end
        }
        if case let .failed(error) = end {
            // Canceled before its workflow could record it (still reading its own events):
            // record it here. Not when the runner itself is stopping: then the task resumes.
            if !(error is RunnerStopping), !Task.isCancelled, let reason = state.withLock({ $0.cancelReasons[id] }),
               let recorded = try? await service.recordCancellation(id, reason: reason), let stored = recorded.stored {
                directory.publish(id, stored: stored, event: recorded.event)
            }
            // Stopping, or the store refused a step: the task stays unfinished in the log and
            // a restart resumes it. Subscribers are released either way.
            directory.retire(id)
        }
        let elapsed = (ContinuousClock.now - started).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        state.withLock { state in
            state.running[id] = nil
            state.cancelReasons[id] = nil
            if let owner = claim.owner {
                state.runningBy[owner, default: 1] -= 1
                state.forget(owner)
            }
            state.meanTaskSeconds = state.meanTaskSeconds * 0.9 + seconds * 0.1
        }
        await queue.release(claim)
        running.requestCancel.finish()
        running.ended.complete()
        signal.yield(.work)
    }

    /// Waits until every running task has ended, at most the shutdown grace.
    private func letRunningTasksReachAStep() async {
        let running = state.withLock { Array($0.running.values) }
        guard !running.isEmpty else { return }
        let grace = limits.shutdownGrace
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for task in running { await task.ended.wait() } }
            group.addTask { try? await Task.sleep(for: grace) }
            await group.next()
            group.cancelAll()
        }
    }

    // MARK: Submitting, resuming, canceling

    /// Records a new task and queues it; refuses with `TaskAdmissionError` when the runner is
    /// full or the principal has reached its `quota`. `beforeQueued` runs after the task is
    /// recorded and before any worker can take it (a push config is stored there, so that the
    /// first step's webhook is not missed); if it throws, the task is recorded as canceled.
    public func submit(question: String, principal: String, quota: TaskQuota = .unlimited, contextID: String?,
                       beforeQueued: @Sendable (TaskSnapshot) async throws -> Void = { _ in }) async throws -> TaskSnapshot {
        try reservePlace(for: principal, quota: quota)
        var queued = false
        defer {
            state.withLock { state in
                state.reserved -= 1
                if !queued {
                    state.queuedBy[principal, default: 1] -= 1
                    state.forget(principal)
                }
            }
        }
        let (id, submitted, recordedAt) = try await service.submitTask(question: question, principal: principal, contextID: contextID)
        let snapshot = TaskSnapshot(id: id, state: submitted, version: 1, updatedAt: recordedAt, isQueued: true)
        directory.register(snapshot)
        do {
            try await beforeQueued(snapshot)
        } catch {
            let recorded = try? await service.recordCancellation(id, reason: "not started: \(error)")
            if let recorded, let stored = recorded.stored { directory.publish(id, stored: stored, event: recorded.event) }
            throw error
        }
        try await queue.enqueue(id, owner: principal)
        state.withLock { $0.queued += 1 }
        queued = true
        signal.yield(.work)
        return directory.cachedSnapshot(of: id) ?? snapshot
    }

    /// Takes up the tasks a previous run left unfinished; they are queued regardless of the
    /// queue limit (they were admitted before).
    public func resume(_ ids: [String]) async throws {
        for id in ids {
            var snapshot = try await directory.snapshot(of: id)
            guard !snapshot.state.isTerminal else { continue }
            snapshot.isQueued = true
            directory.register(snapshot)
            let owner = snapshot.state.principal
            try await queue.enqueue(id, owner: owner)
            state.withLock { state in
                state.queued += 1
                if let owner { state.queuedBy[owner, default: 0] += 1 }
            }
        }
        signal.yield(.work)
    }

    /// Cancels a waiting or running task and returns its snapshot after the cancellation (or
    /// unchanged, when it had already ended).
    public func cancel(_ id: String, reason: String) async throws -> TaskSnapshot {
        if let withdrawn = await queue.withdraw(id) {
            state.withLock { state in
                state.queued = max(0, state.queued - 1)
                if let owner = withdrawn.owner {
                    state.queuedBy[owner, default: 1] -= 1
                    state.forget(owner)
                }
            }
            try await recordCancellation(id, reason: reason, wasLive: true)
        } else if let running = state.withLock({ state -> RunningTask? in
            guard let running = state.running[id] else { return nil }
            state.cancelReasons[id] = reason
            return running
        }) {
            running.requestCancel.yield()
            await running.ended.wait()
        } else {
            // Neither waiting nor running here: interrupted by an earlier run, or ended.
            try await recordCancellation(id, reason: reason, wasLive: directory.cachedSnapshot(of: id)?.state.isTerminal == false)
        }
        return try await directory.snapshot(of: id)
    }

    private func recordCancellation(_ id: String, reason: String, wasLive: Bool) async throws {
        let recorded = try await service.recordCancellation(id, reason: reason)
        if wasLive, let stored = recorded.stored { directory.publish(id, stored: stored, event: recorded.event) }
    }

    /// Seconds to tell a refused client to wait: 1 to 60, clamped before converting, so that
    /// no estimate (however odd the measured task times) reaches a trapping conversion.
    private static func retryHint(_ seconds: Double) -> Int {
        guard seconds.isFinite else { return 60 }
        return Int(min(60, max(1, seconds.rounded(.up))))
    }

    private func reservePlace(for principal: String, quota: TaskQuota) throws {
        try state.withLock { state in
            if state.stopping {
                throw TaskAdmissionError(retryAfterSeconds: 5, description: "the server is stopping")
            }
            let free = limits.maximumRunning - state.running.count
            let waiting = state.queued + state.reserved
            guard waiting < limits.maximumQueued + max(0, free) else {
                throw TaskAdmissionError(
                    retryAfterSeconds: Self.retryHint(Double(waiting) * state.meanTaskSeconds / Double(max(1, limits.maximumRunning))),
                    description: "\(state.running.count) tasks are running and \(state.queued) are queued (the limits are \(limits.maximumRunning) and \(limits.maximumQueued))")
            }
            let ownQueued = state.queuedBy[principal, default: 0]
            if let limit = quota.maximumQueued, ownQueued >= limit {
                let ownRunning = state.runningBy[principal, default: 0]
                throw TaskAdmissionError(
                    retryAfterSeconds: Self.retryHint(Double(max(1, ownQueued)) * state.meanTaskSeconds / Double(max(1, ownRunning))),
                    description: "you have \(ownQueued) tasks waiting and \(ownRunning) running; your role allows \(limit) waiting at once",
                    isPrincipalQuota: true)
            }
            state.reserved += 1
            state.queuedBy[principal, default: 0] += 1
            state.quotas[principal] = quota
        }
    }
}
