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
///
/// On a shared queue (several replicas on one database, the queue has a `leaseDuration`), two
/// more child tasks run: one renews the leases of running claims three times per lease (a
/// claim found lost, or not renewed in time, stops its task here without recording more:
/// another replica has taken it over, and the expected stream version would refuse this
/// replica's next step anyway), and counts which of the tasks queued here still wait (other
/// replicas claim them too); the other wakes the runner every `pollInterval`, for tasks
/// enqueued elsewhere and leases of dead replicas. A task given up at a graceful stop is
/// released at once, so another replica continues it without waiting for the lease to expire.
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

    /// A running task: its claim, how to ask it to stop, and who waits for it to end.
    private final class RunningTask: Sendable {
        let claim: TaskClaim
        let cancelRequests: AsyncStream<Void>
        let requestCancel: AsyncStream<Void>.Continuation
        let ended = Completion()

        init(claim: TaskClaim) {
            self.claim = claim
            (cancelRequests, requestCancel) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        }
    }

    /// A task this runner queued that has not been claimed (by any replica) or withdrawn yet.
    private struct WaitingTask {
        var owner: String?
        /// Whether its queue row surely exists (the enqueue or commit returned). Counted as
        /// waiting before that, so that a claim racing the commit finds it; but until then the
        /// queue's answer "not waiting" may only mean "not committed yet", and the count of
        /// waiting tasks (`countWaitingTasks`) must not drop it for that.
        var isConfirmed = false
    }

    private struct State {
        var running: [String: RunningTask] = [:]
        /// Why running tasks were canceled, for those the cancellation stops before their
        /// workflow can record it.
        var cancelReasons: [String: String] = [:]
        /// Places promised to admitted submissions not yet counted in `waiting` (each becomes
        /// its task's entry there, `waitInsteadOfReservation`, or is given back).
        var reserved = 0
        /// Submissions under an id their caller chose (`submitOnce`) being written now: a second
        /// one of the same id waits for the first instead of racing it for the same live task.
        var submitting: [String: Completion] = [:]
        /// The tasks queued here that still wait: the queue limit counts them.
        var waiting: [String: WaitingTask] = [:]
        var queued: Int { waiting.count }
        /// Until when each running task's lease surely holds (a shared queue): the clock is read
        /// before the claim or renewal is sent, so this is never later than the database's expiry.
        var leaseValidUntil: [String: ContinuousClock.Instant] = [:]
        /// Running tasks whose lease was lost: they stop without recording more.
        var leaseLost: Set<String> = []
        /// Running tasks that another replica ended (canceled): they stop, and their claim ends.
        var endedElsewhere: Set<String> = []
        /// Claims of tasks that ended while the runner tore them down, released when `run()` ends.
        var unreleased: [(TaskClaim, TaskClaimEnd)] = []
        /// Workers promised to submissions written already claimed (`submissionLease`), by
        /// principal, until their task starts or the submission fails: they count as running.
        var startingAtSubmission: [String: Int] = [:]
        /// Tasks submitted here already claimed, for the run loop to start (with the time the
        /// claim was sent, from which its lease counts).
        var claimedAtSubmission: [(claim: TaskClaim, claimedAt: ContinuousClock.Instant)] = []
        /// Whether work may wait in the queue for a claim (`announceWork`).
        var claimNeeded = true
        /// Whether the last claims left work waiting (the workers were full): a task's end then
        /// claims again.
        var backlog = false
        /// Whether `run()` is starting tasks and renewing leases: only then may a submission be
        /// written already claimed (a claim nobody renews would sit until its lease expires).
        var runLoopActive = false
        /// Workers busy or promised.
        var occupied: Int { running.count + startingAtSubmission.values.reduce(0, +) }
        /// A claim failed (the database is unreachable): warn once until a claim works again.
        var claimFailing = false
        var stopping = false
        /// Mean seconds per task (exponentially weighted), for the retry hint.
        var meanTaskSeconds = 0.5
        /// How many tasks each principal has waiting and running, with the quota its role had
        /// at its last submission (tasks resumed after a restart count, under no quota).
        var queuedBy: [String: Int] = [:]
        var runningBy: [String: Int] = [:]
        var quotas: [String: TaskQuota] = [:]

        /// The principals running as many tasks as their quota allows: a claim skips their tasks.
        func ownersAtRunningQuota() -> Set<String> {
            Set(quotas.keys.filter { (runningRoom(of: $0) ?? 1) <= 0 })
        }

        /// How many more tasks `owner` may run under their running quota (tasks promised a
        /// worker count as running); nil without such a quota.
        func runningRoom(of owner: String) -> Int? {
            guard let limit = quotas[owner]?.maximumRunning else { return nil }
            return limit - runningBy[owner, default: 0] - startingAtSubmission[owner, default: 0]
        }

        /// How many tasks the next claim may take: the free workers, at most
        /// `maximumClaimBatch`, and no more than any principal with a running quota here could
        /// still start (the whole batch could be theirs). Principals at their quota are
        /// excluded from the claim instead.
        func claimBatchSize(maximumRunning: Int) -> Int {
            var size = min(maximumRunning - occupied, TaskRunner.maximumClaimBatch)
            for owner in quotas.keys {
                if let room = runningRoom(of: owner), room > 0 { size = min(size, room) }
            }
            return max(size, 1)
        }

        /// Promises a worker to a submission by `principal` if one is free and the principal's
        /// running quota leaves room.
        mutating func promiseWorker(to principal: String, maximumRunning: Int) -> Bool {
            guard runLoopActive, !stopping, occupied < maximumRunning, (runningRoom(of: principal) ?? 1) > 0 else { return false }
            startingAtSubmission[principal, default: 0] += 1
            return true
        }

        /// A task written already claimed goes to the run loop, which starts it at its next
        /// signal; false when the runner is stopping (the caller hands the claim back).
        mutating func handOver(_ claim: TaskClaim, claimedAt: ContinuousClock.Instant) -> Bool {
            guard !stopping else {
                endPromise(to: claim.owner ?? "")
                return false
            }
            claimedAtSubmission.append((claim, claimedAt))
            return true
        }

        /// The promise ends: the task starts, or its submission failed.
        mutating func endPromise(to principal: String) {
            startingAtSubmission[principal, default: 1] -= 1
            if startingAtSubmission[principal] == 0 { startingAtSubmission[principal] = nil }
        }

        /// A submission's reserved place becomes its place among the waiting tasks (one place,
        /// not two, while its commit runs).
        mutating func waitInsteadOfReservation(_ id: String, owner: String) {
            waiting[id] = WaitingTask(owner: owner)
            reserved -= 1
        }

        /// A task queued here stopped waiting: claimed (here or elsewhere) or withdrawn.
        mutating func leftWaiting(_ id: String) {
            guard let task = waiting.removeValue(forKey: id), let owner = task.owner else { return }
            queuedBy[owner, default: 1] -= 1
            forget(owner)
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
    /// Whether `run()` has begun and not been asked to stop: tasks submitted now start here.
    public var isRunning: Bool { state.withLock { $0.runLoopActive && !$0.stopping } }

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
        state.withLock { $0.runLoopActive = true }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.directory.sweepExpiredSubscriptions() }
            if let lease = queue.leaseDuration {
                group.addTask { await self.keepLeases(lease) }
            }
            if let interval = queue.pollInterval {
                group.addTask { await self.poll(every: interval) }
            }
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
                state.waiting = [:]
                state.queuedBy = [:]
            }
            await letRunningTasksReachAStep()
            group.cancelAll()
        }
        // Claims of tasks torn down past the grace, released here: their own (canceled) child
        // tasks could not reach the database. On a shared queue this hands them to another
        // replica at once instead of after their lease expires.
        let unreleased = state.withLock { state in
            defer { state.unreleased = [] }
            return state.unreleased
        }
        for (claim, end) in unreleased { await queue.release(claim, end) }
        // Submitted already claimed as the runner stopped: handed to another replica now.
        let neverStarted = state.withLock { state in
            defer {
                state.claimedAtSubmission = []
                state.runLoopActive = false
            }
            for (claim, _) in state.claimedAtSubmission { state.endPromise(to: claim.owner ?? "") }
            return state.claimedAtSubmission.map(\.claim)
        }
        for claim in neverStarted { await queue.release(claim, .givenUp) }
        logger.info("stopped; unfinished tasks resume at the next start or on another replica")
    }

    /// Stops claiming tasks; `run()` then ends as a graceful shutdown would end it.
    public func stop() {
        let first = state.withLock { state in
            defer { state.stopping = true }
            return !state.stopping
        }
        if first { signal.yield(.stop) }
    }

    /// Starts waiting tasks while workers are free, each as a child task of `run()`. Free
    /// workers are filled a batch at a time (`claimBatchSize`): one claim, one round trip to a
    /// shared queue, for several tasks.
    private func startWaiting(in group: inout DiscardingTaskGroup) async {
        // Submitted here already claimed: their workers were promised at submission.
        let claimedAtSubmission = state.withLock { state in
            defer { state.claimedAtSubmission = [] }
            return state.claimedAtSubmission
        }
        var handedBack = false
        for (claim, claimedAt) in claimedAtSubmission {
            state.withLock { $0.endPromise(to: claim.owner ?? "") }
            if !(await start(claim, claimedAt: claimedAt, promised: true, in: &group)) { handedBack = true }
        }
        if handedBack { return }
        // Claim only when work may wait in the queue (announced by `announceWork`): a
        // submission this runner started itself announces none.
        guard state.withLock({ state in
            defer { state.claimNeeded = false }
            return state.claimNeeded
        }) else { return }
        while true {
            let next = state.withLock { state -> (excluded: Set<String>, batchSize: Int)? in
                guard !state.stopping else { return nil }
                guard state.occupied < limits.maximumRunning else {
                    // Every worker busy while work was announced: more may wait; the next
                    // worker to free up claims.
                    state.backlog = true
                    return nil
                }
                return (state.ownersAtRunningQuota(), state.claimBatchSize(maximumRunning: limits.maximumRunning))
            }
            guard let (excluded, batchSize) = next else { return }
            let claims: [TaskClaim]
            let claimedAt = ContinuousClock.now
            do {
                claims = try await queue.claim(excludingOwners: excluded, limit: batchSize)
                let recovered = state.withLock { state in
                    defer { state.claimFailing = false }
                    return state.claimFailing
                }
                if recovered { logger.info("claiming tasks works again") }
            } catch {
                // The next signal or poll tries again; say so once, not at every attempt.
                let first = state.withLock { state in
                    defer { state.claimFailing = true }
                    return !state.claimFailing
                }
                if first { logger.warning("could not claim a task; retrying", metadata: ["error": "\(error)"]) }
                return
            }
            // Fewer than asked: nothing more waits now (for this runner's claim).
            let drained = claims.count < batchSize
            if drained { state.withLock { $0.backlog = false } }
            var handedBack = false
            for claim in claims where !(await start(claim, claimedAt: claimedAt, promised: false, in: &group)) { handedBack = true }
            if handedBack || drained { return }
        }
    }

    /// Runs a claimed task as a child task of `run()`; false when it was handed back instead
    /// (stopping, or the task still runs here: its lease was lost and it has not stopped yet).
    /// The caller then claims no more until the next signal, so that the same task is not
    /// claimed and handed back in a loop.
    ///
    /// A claim from the queue (`promised` false) is also handed back when the workers filled up
    /// while it was being claimed, or its principal reached their running quota: submissions
    /// written already claimed (`promiseWorker`) do not wait for a claim in flight.
    private func start(_ claim: TaskClaim, claimedAt: ContinuousClock.Instant, promised: Bool,
                       in group: inout DiscardingTaskGroup) async -> Bool {
        let running = RunningTask(claim: claim)
        let maximumRunning = limits.maximumRunning
        let started = state.withLock { state -> Bool in
            guard !state.stopping, state.running[claim.taskID] == nil else { return false }
            if !promised {
                // Handed back, it waits in the queue: the next worker to free up claims again.
                guard state.occupied < maximumRunning else {
                    state.backlog = true
                    return false
                }
                if let owner = claim.owner, (state.runningRoom(of: owner) ?? 1) <= 0 {
                    state.backlog = true
                    return false
                }
            }
            if let owner = claim.owner { state.runningBy[owner, default: 0] += 1 }
            state.leftWaiting(claim.taskID)
            state.running[claim.taskID] = running
            if let lease = queue.leaseDuration { state.leaseValidUntil[claim.taskID] = claimedAt + lease }
            return true
        }
        guard started else {
            await queue.release(claim, .givenUp)
            return false
        }
        group.addTask { await self.execute(claim, running) }
        return true
    }

    /// Tells the run loop that tasks may wait in the queue: it claims at its next turn.
    private func announceWork() {
        state.withLock { $0.claimNeeded = true }
        signal.yield(.work)
    }

    /// Tasks may be waiting that no local submission announced (queued on another replica, as
    /// the change feed tells): claim now if a worker is free, rather than at the next poll.
    func wake() {
        guard !state.withLock({ $0.stopping }) else { return }
        announceWork()
    }

    /// Wakes the runner now and then, for work no local submission announces (a shared queue).
    private func poll(every interval: Duration) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            guard !state.withLock({ $0.stopping }) else { return }
            announceWork()
        }
    }

    /// Renews the leases of running claims three times per lease, stops the tasks whose lease
    /// was lost, and counts which tasks queued here still wait. Runs until the runner's end
    /// (through the shutdown grace: tasks finishing their step still need their lease).
    private func keepLeases(_ lease: Duration) async {
        let interval = lease / 3
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            await renewLeases(lease)
            await countWaitingTasks()
        }
    }

    private func renewLeases(_ lease: Duration) async {
        // Not the claims of tasks stopping after losing their lease: that claim is over. A run
        // that does not stop (stuck in a call that ignores cancellation, say a database request
        // lost in an outage) must not keep its task from the other replicas by renewing it
        // once the database is back: the task would sit, claimed and never run (issue 16).
        let claims = state.withLock { state in
            state.running.values.map(\.claim).filter { !state.leaseLost.contains($0.taskID) }
        }
        if !claims.isEmpty {
            let sentAt = ContinuousClock.now
            do {
                let lost = Set(try await queue.renew(claims).map(\.taskID))
                state.withLock { state in
                    for claim in claims where !lost.contains(claim.taskID) && state.running[claim.taskID]?.claim == claim
                        && !state.leaseLost.contains(claim.taskID) {
                        state.leaseValidUntil[claim.taskID] = sentAt + lease
                    }
                }
                for id in lost { stopAfterLosingLease(id, why: "another replica took it over") }
            } catch {
                logger.warning("could not renew task leases; a task whose lease runs out stops here", metadata: ["error": "\(error)"])
            }
        }
        // Not renewed in time (the database is unreachable): another replica may claim the
        // task as soon as the lease expires, so this one stops now.
        let now = ContinuousClock.now
        let expired = state.withLock { state in state.leaseValidUntil.filter { $0.value <= now }.map(\.key) }
        for id in expired { stopAfterLosingLease(id, why: "its lease could not be renewed in time") }
    }

    /// A task whose lease was lost stops without recording more; it is not canceled (it runs
    /// on elsewhere, or is claimed again once its lease has expired).
    private func stopAfterLosingLease(_ id: String, why: String) {
        let running = state.withLock { state -> RunningTask? in
            guard let running = state.running[id], state.leaseLost.insert(id).inserted else { return nil }
            state.leaseValidUntil[id] = nil
            return running
        }
        guard let running else { return }
        logger.warning("lost the lease of a running task: stopping it here", metadata: ["task": .string(id), "reason": .string(why)])
        running.requestCancel.yield()
    }

    /// Drops from the queue count the tasks queued here that another replica has claimed.
    /// Only tasks whose queue row was confirmed are asked about (see `WaitingTask.isConfirmed`).
    private func countWaitingTasks() async {
        let ids = state.withLock { state in state.waiting.filter(\.value.isConfirmed).map(\.key) }
        guard !ids.isEmpty else { return }
        guard let stillWaiting = try? await queue.waiting(among: ids) else { return }
        state.withLock { state in
            for id in ids where !stillWaiting.contains(id) { state.leftWaiting(id) }
        }
    }

    /// The most tasks one claim takes: enough that a busy runner pays one round trip for many
    /// tasks, few enough that one replica does not take a burst the others could share.
    public static let maximumClaimBatch = 8

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
        let directory = self.directory
        // Queued by another replica (or before a restart): live here from now on, so that
        // this replica's subscribers see its steps.
        if directory.cachedSnapshot(of: id) == nil, var snapshot = try? await directory.snapshot(of: id), !snapshot.state.isTerminal {
            snapshot.isQueued = false
            directory.register(snapshot)
        }
        directory.markStarted(id)
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
                            // Or its lease was lost: another replica runs it now.
                            let stopping = self.state.withLock {
                                $0.stopping || $0.leaseLost.contains(id) || (Task.isCancelled && $0.cancelReasons[id] == nil)
                            }
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
        let claimEnd = state.withLock { state -> TaskClaimEnd? in
            let stoppedHere = state.stopping || state.leaseLost.contains(id) || (Task.isCancelled && state.cancelReasons[id] == nil)
            if state.endedElsewhere.contains(id) { return .ended }
            return Self.claimEnd(end, stoppedHere: stoppedHere, cancelRequested: state.cancelReasons[id] != nil)
        }
        state.withLock { state in
            state.running[id] = nil
            state.cancelReasons[id] = nil
            state.leaseValidUntil[id] = nil
            state.leaseLost.remove(id)
            state.endedElsewhere.remove(id)
            if let owner = claim.owner {
                state.runningBy[owner, default: 1] -= 1
                state.forget(owner)
            }
            state.meanTaskSeconds = state.meanTaskSeconds * 0.9 + seconds * 0.1
        }
        if let claimEnd {
            if Task.isCancelled {
                state.withLock { $0.unreleased.append((claim, claimEnd)) }
            } else {
                await queue.release(claim, claimEnd)
            }
        } else {
            logger.warning("a task stopped on an error; it is tried again when its lease expires", metadata: ["task": .string(id)])
        }
        running.requestCancel.finish()
        running.ended.complete()
        // A worker is free: claim if tasks may wait for it (queued here, or the last claim
        // found more than the workers could take). Tasks queued on other replicas are found
        // by the poll and the change feed's wake.
        if state.withLock({ $0.backlog || $0.queued > 0 }) { announceWork() }
    }

    /// How a run ends its claim:
    /// - ended (the row goes) when the task finished, was canceled here (and the runner is
    ///   not stopping), or cannot run (its log is damaged, or gone): running it again would
    ///   change nothing;
    /// - given up (claimable again at once) when it stopped unfinished for reasons of this
    ///   runner (stopping, its lease lost, torn down), or because another writer appended first
    ///   (a replica that held it before, a cancellation recorded elsewhere): whoever claims it
    ///   next folds the stored events and goes on, or finds it ended;
    /// - nil, left to its lease, on any other error (the database went away mid-step, say):
    ///   the task is tried again, here or elsewhere, once the lease expires; the lease is the
    ///   backoff that keeps a failing task from being claimed and failed in a tight loop.
    private static func claimEnd(_ end: WorkflowEnd, stoppedHere: Bool, cancelRequested: Bool) -> TaskClaimEnd? {
        guard case let .failed(error) = end else { return .ended }
        if error is ResearchTaskError { return .ended }
        if stoppedHere || error is RunnerStopping { return .givenUp }
        if case .versionConflict = error as? EventStoreError { return .givenUp }
        // Canceled here: the cancellation was recorded above (or the workflow recorded it).
        return cancelRequested ? .ended : nil
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
    ///
    /// Without `beforeQueued`, on a queue whose rows live in the event store's database
    /// (`TaskQueueingEventStore`), the task is recorded and queued in one commit.
    public func submit(question: String, principal: String, quota: TaskQuota = .unlimited, contextID: String?,
                       beforeQueued: (@Sendable (TaskSnapshot) async throws -> Void)? = nil) async throws -> TaskSnapshot {
        try await submitNew(id: ResearchTaskService.newTaskID(), chosen: false, question: question, principal: principal, quota: quota,
                            contextID: contextID, beforeQueued: beforeQueued).snapshot
    }

    /// `submit` under an id the caller chose (`ResearchTaskService.taskID(forMessage:principal:)`),
    /// at most once: when a task of that id exists (an earlier try of the same submission,
    /// here or on another replica, perhaps one whose answer was lost), it is returned instead,
    /// with `created` false, and nothing is recorded. The store decides, in the commit that
    /// would record the task (a stream is created once), so concurrent tries create one task.
    /// A try whose commit is in doubt (the database went away) is not recorded canceled as in
    /// `submit`: it may have created the task, which the next try then finds.
    public func submitOnce(taskID id: String, question: String, principal: String, quota: TaskQuota = .unlimited, contextID: String?,
                           beforeQueued: (@Sendable (TaskSnapshot) async throws -> Void)? = nil) async throws -> TaskSubmission {
        while true {
            let earlier = state.withLock { state -> Completion? in
                if let earlier = state.submitting[id] { return earlier }
                state.submitting[id] = Completion()
                return nil
            }
            if let earlier {
                await earlier.wait()
                try Task.checkCancellation()
                continue
            }
            defer {
                state.withLock { $0.submitting.removeValue(forKey: id) }?.complete()
            }
            // Known here (live, or ended and cached): no place to reserve, nothing to write.
            if let known = directory.cachedSnapshot(of: id) { return TaskSubmission(snapshot: known, created: false) }
            return try await submitNew(id: id, chosen: true, question: question, principal: principal, quota: quota,
                                       contextID: contextID, beforeQueued: beforeQueued)
        }
    }

    /// Records the new task `id` and queues it (`chosen`: the caller chose the id, and a task of
    /// that id may exist already; see `submitOnce`).
    private func submitNew(id: String, chosen: Bool, question: String, principal: String, quota: TaskQuota, contextID: String?,
                           beforeQueued: (@Sendable (TaskSnapshot) async throws -> Void)?) async throws -> TaskSubmission {
        try reservePlace(for: principal, quota: quota)
        var queued = false
        // The place reserved above, until the task is counted as waiting instead: counted as
        // both, one submission in its commit took two places, and a burst was refused below
        // the limits (a CI run on PostgreSQL admitted 2 of 30 submissions at once to 1 worker
        // and 2 queue places).
        var reservationHeld = true
        defer {
            state.withLock { state in
                if reservationHeld { state.reserved -= 1 }
                if !queued {
                    state.queuedBy[principal, default: 1] -= 1
                    state.forget(principal)
                }
            }
        }
        if beforeQueued == nil, let queueing = service.queueingStore(for: queue.queueDomain) {
            var startsHere = false
            let submission = try await submitInOneCommit(id: id, chosen: chosen, question: question, principal: principal,
                                                         contextID: contextID, queueing: queueing, queued: &queued,
                                                         reservationHeld: &reservationHeld, startsHere: &startsHere)
            if startsHere {
                signal.yield(.work)
            } else if submission.created {
                announceWork()
            }
            return submission
        }
        let submitted: TaskState, recordedAt: Date
        do {
            (_, submitted, recordedAt) = try await service.submitTask(question: question, principal: principal, contextID: contextID, id: id)
        } catch EventStoreError.versionConflict where chosen {
            // Created by an earlier try: nothing was recorded now.
            return TaskSubmission(snapshot: try await directory.snapshot(of: id), created: false)
        }
        let snapshot = TaskSnapshot(id: id, state: submitted, version: 1, updatedAt: recordedAt, isQueued: true)
        directory.register(snapshot)
        do {
            try await beforeQueued?(snapshot)
            // Counted as waiting before it is queued: a worker may claim it before `enqueue` returns.
            state.withLock { $0.waitInsteadOfReservation(id, owner: principal) }
            reservationHeld = false
            do {
                try await queue.enqueue(id, owner: principal)
            } catch {
                // Already gone from `waiting` only if a worker claimed it (the row was written
                // after all): the claim did the counting, so the `defer` must not do it again.
                if state.withLock({ $0.waiting.removeValue(forKey: id) == nil }) { queued = true }
                throw error
            }
            state.withLock { $0.waiting[id]?.isConfirmed = true }
        } catch {
            // Not queued: record it canceled, so that the error the client gets is what the
            // store says (were it left submitted, only a restart would run it).
            let recorded = try? await service.recordCancellation(id, reason: "not started: \(error)")
            if let recorded, let stored = recorded.stored { directory.publish(id, stored: stored, event: recorded.event) }
            throw error
        }
        queued = true
        announceWork()
        return TaskSubmission(snapshot: directory.cachedSnapshot(of: id) ?? snapshot, created: true)
    }

    /// Records and queues a task in one commit. A worker (here or on another replica) may claim
    /// it the moment the commit is visible, before this returns, so the task is live and counted
    /// as waiting before the commit, and both are undone if the commit fails. `queued`: whether
    /// the waiting count now holds the task (or a claim of it already did the counting).
    /// `startsHere`: it was written claimed by this runner, which starts it at its next turn.
    private func submitInOneCommit(id: String, chosen: Bool, question: String, principal: String, contextID: String?,
                                   queueing: any TaskQueueingEventStore, queued: inout Bool, reservationHeld: inout Bool,
                                   startsHere: inout Bool) async throws -> TaskSubmission {
        let (event, submitted) = try ResearchTaskService.submission(question: question, principal: principal, contextID: contextID)
        let live = TaskSnapshot(id: id, state: submitted, version: 1, updatedAt: Date(), isQueued: true)
        if !chosen {
            directory.register(live)
        } else if !directory.registerNew(live) {
            // The task became live here meanwhile (a worker here claimed it): it exists.
            return TaskSubmission(snapshot: try await directory.snapshot(of: id), created: false)
        }
        state.withLock { $0.waitInsteadOfReservation(id, owner: principal) }
        reservationHeld = false
        // A free worker here: the task is written already claimed by this replica, and starts
        // without a claim of its own (one statement less per task on a shared queue).
        let lease = queue.submissionLease
        let promised = lease != nil && state.withLock { $0.promiseWorker(to: principal, maximumRunning: limits.maximumRunning) }
        let claimedAt = ContinuousClock.now
        let recordedAt: Date
        do {
            do {
                recordedAt = try await service.submitQueuedTask(id: id, event, owner: principal, contextID: contextID, queueing: queueing,
                                                                leasedTo: promised ? lease : nil)
            } catch {
                // Not written (or in doubt: then its lease expires and another claim takes it).
                if promised { state.withLock { $0.endPromise(to: principal) } }
                throw error
            }
        } catch EventStoreError.versionConflict where chosen {
            // Created by an earlier try (nothing of this one was committed): this try's live task
            // and waiting count go, unless a worker here claimed the existing task meanwhile
            // (then the claim did the counting, and the live task gets the store's state).
            queued = state.withLock { $0.waiting.removeValue(forKey: id) == nil }
            if state.withLock({ $0.running[id] != nil }) {
                let stored = try await service.snapshot(of: id)
                directory.register(TaskSnapshot(id: id, state: stored.state, version: stored.version, updatedAt: stored.updatedAt))
            } else {
                directory.retire(id)
            }
            return TaskSubmission(snapshot: try await directory.snapshot(of: id), created: false)
        } catch where chosen {
            // In doubt (the database went away): not canceled, as `submit` would. If it was
            // recorded it is queued too, and runs; the caller's retry finds it.
            queued = state.withLock { $0.waiting.removeValue(forKey: id) == nil }
            if !queued { directory.retire(id) }
            throw error
        } catch {
            // Gone from `waiting` only if a worker claimed it: the commit happened after all (its
            // outcome was in doubt), and the claim did the counting. Whether or not it was
            // recorded, it must not run unacknowledged: record it canceled if it exists.
            queued = state.withLock { $0.waiting.removeValue(forKey: id) == nil }
            let recorded = try? await service.recordCancellation(id, reason: "not started: \(error)")
            if let recorded, let stored = recorded.stored {
                directory.publish(id, stored: stored, event: recorded.event)
            } else if !queued {
                directory.retire(id)
            }
            throw error
        }
        queued = true
        state.withLock { $0.waiting[id]?.isConfirmed = true }
        if promised {
            let claim = TaskClaim(taskID: id, owner: principal, attempt: 1)
            startsHere = state.withLock { $0.handOver(claim, claimedAt: claimedAt) }
            if !startsHere { await queue.release(claim, .givenUp) }
        }
        // The store's time of the event, unless a worker got further already or the task ended.
        directory.refine(TaskSnapshot(id: id, state: submitted, version: 1, updatedAt: recordedAt, isQueued: true))
        return TaskSubmission(snapshot: directory.cachedSnapshot(of: id)
                                  ?? TaskSnapshot(id: id, state: submitted, version: 1, updatedAt: recordedAt, isQueued: true),
                              created: true)
    }

    /// Takes up the tasks a previous run left unfinished; they are queued regardless of the
    /// queue limit (they were admitted before). On a shared queue, a task that is already
    /// queued or claimed (another replica runs it) is left alone: `enqueue` adds it only once.
    public func resume(_ ids: [String]) async throws {
        for id in ids {
            var snapshot = try await directory.snapshot(of: id)
            guard !snapshot.state.isTerminal else { continue }
            snapshot.isQueued = true
            let owner = snapshot.state.principal
            // Live and counted before it is queued: a worker may claim it before `enqueue` returns.
            directory.register(snapshot)
            state.withLock { state in
                state.waiting[id] = WaitingTask(owner: owner)
                if let owner { state.queuedBy[owner, default: 0] += 1 }
            }
            let added: Bool
            do {
                added = try await queue.enqueue(id, owner: owner)
            } catch {
                state.withLock { $0.leftWaiting(id) }
                throw error
            }
            if !added {
                // Already queued or running elsewhere: whoever claims it makes it live there.
                state.withLock { $0.leftWaiting(id) }
                if state.withLock({ $0.running[id] == nil }) { directory.retire(id) }
            } else {
                state.withLock { $0.waiting[id]?.isConfirmed = true }
            }
        }
        announceWork()
    }

    /// Cancels a waiting or running task and returns its snapshot after the cancellation (or
    /// unchanged, when it had already ended).
    public func cancel(_ id: String, reason: String) async throws -> TaskSnapshot {
        if await queue.withdraw(id) != nil {
            state.withLock { $0.leftWaiting(id) }
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

    /// The task ended on another replica (a cancellation recorded there; issue 16, called by
    /// `TaskChangeFollower`): a run here stops at once without recording more (canceled with
    /// no cancel reason, it records nothing), and a task waiting in this runner's queue is
    /// taken out. Harmless for a task this runner ended itself.
    func stopTaskEndedElsewhere(_ id: String) async {
        if let running = state.withLock({ state -> RunningTask? in
            guard let running = state.running[id] else { return nil }
            // Its claim ends with the run (the row goes), rather than waiting for its lease.
            state.endedElsewhere.insert(id)
            return running
        }) {
            running.requestCancel.yield()
        } else if state.withLock({ $0.waiting[id] != nil }), await queue.withdraw(id) != nil {
            // Only a task queued here: every replica hears of every task's end.
            state.withLock { $0.leftWaiting(id) }
        }
    }

    /// Another replica recorded a step of the task (`TaskChangeFollower`): it claimed it, so a
    /// task queued here no longer waits (the periodic count, `countWaitingTasks`, would find
    /// that later; meanwhile its end would try to withdraw it and find nothing).
    func stepRecordedElsewhere(_ id: String) {
        state.withLock { state in
            if state.waiting[id] != nil { state.leftWaiting(id) }
        }
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
