import Foundation
import ResearchCore
import Security
import Synchronization
import TaskService

/// Why the runner refused a task: every worker and queue place is taken, or the server is
/// stopping. Carries a hint of when to retry.
public struct TaskAdmissionError: Error, Sendable, CustomStringConvertible {
    public var retryAfterSeconds: Int
    public var description: String
    /// The principal's own quota was reached (the server itself has room for others).
    public var isPrincipalQuota = false
}

/// Stopping the server refuses to record further steps; the task stays unfinished in the
/// store and resumes at the next start.
struct ServerStopping: Error, CustomStringConvertible {
    var description: String { "the server is stopping; the task resumes at the next start" }
}

/// Runs research tasks on a bounded number of workers with a bounded queue (admission
/// control: when both are full a new task is refused with a retry hint, never queued without
/// bound). Tasks are durable before they are admitted to a worker, so the queue holds only ids.
public final class TaskRunner: Sendable {
    public struct Limits: Sendable {
        public var maximumRunning: Int
        public var maximumQueued: Int
        public var principalQuotas: PrincipalTaskQuotas
        public init(maximumRunning: Int = 4, maximumQueued: Int = 1000, principalQuotas: PrincipalTaskQuotas = .init()) {
            self.maximumRunning = maximumRunning
            self.maximumQueued = maximumQueued
            self.principalQuotas = principalQuotas
        }
    }

    private struct State {
        var queue: [String] = []
        var queueHead = 0
        var running: [String: Task<Void, Never>] = [:]
        /// Why running tasks were canceled, for those the cancellation stops before their
        /// workflow can record it.
        var cancelReasons: [String: String] = [:]
        /// Places promised to submissions whose first event is being written.
        var reserved = 0
        var stopping = false
        /// Mean seconds per task (exponentially weighted), for the retry hint.
        var meanTaskSeconds = 0.5
        var queuedCount: Int { queue.count - queueHead }
        /// Who submitted each live task, and how many each principal has waiting and running,
        /// with the limits its role had at submission (tasks resumed after a restart have none).
        var owners: [String: String] = [:]
        var queuedBy: [String: Int] = [:]
        var runningBy: [String: Int] = [:]
        var quotas: [String: PrincipalTaskQuotas.Quota] = [:]

        func mayStart(_ id: String) -> Bool {
            guard let owner = owners[id], let limit = quotas[owner]?.maximumRunning else { return true }
            return runningBy[owner, default: 0] < limit
        }
    }

    public let limits: Limits
    public let directory: TaskDirectory
    private let state = Mutex(State())

    public init(directory: TaskDirectory, limits: Limits) {
        self.directory = directory
        self.limits = limits
    }

    private var service: ResearchTaskService { directory.service }

    /// Records a new task and starts or queues it; refuses with `TaskAdmissionError` when the
    /// server is full or the principal has reached its role's quota (no role: no quota).
    public func submit(question: String, principal: String, role: Role? = nil, contextID: String?) async throws -> TaskSnapshot {
        try reservePlace(for: principal, quota: role.map(limits.principalQuotas.quota) ?? .unlimited)
        defer { state.withLock { $0.reserved -= 1 } }
        let recorded: (String, TaskState, Date)
        do {
            recorded = try await service.submitTask(question: question, principal: principal, contextID: contextID)
        } catch {
            state.withLock { $0.queuedBy[principal, default: 1] -= 1 }
            throw error
        }
        let (id, submitted, recordedAt) = recorded
        let queued = TaskSnapshot(id: id, state: submitted, version: 1, updatedAt: recordedAt, isQueued: true)
        directory.register(queued)
        enqueue(id, owner: principal)
        return directory.cachedSnapshot(of: id) ?? queued
    }

    /// Takes up the tasks a previous run left unfinished; they are queued regardless of the
    /// queue limit (they were admitted before).
    public func resume(_ ids: [String]) async throws {
        for id in ids {
            var snapshot = try await directory.snapshot(of: id)
            guard !snapshot.state.isTerminal else { continue }
            snapshot.isQueued = true
            directory.register(snapshot)
            if let owner = snapshot.state.principal { state.withLock { $0.queuedBy[owner, default: 0] += 1 } }
            enqueue(id, owner: snapshot.state.principal)
        }
    }

    /// Cancels a queued or running task and returns its snapshot after the cancellation (or
    /// unchanged, when it had already ended).
    public func cancel(_ id: String, reason: String) async throws -> TaskSnapshot {
        let (wasQueued, running) = state.withLock { state -> (Bool, Task<Void, Never>?) in
            if let index = state.queue[state.queueHead...].firstIndex(of: id) {
                state.queue.remove(at: index)
                if let owner = state.owners.removeValue(forKey: id) { state.queuedBy[owner, default: 1] -= 1 }
                return (true, nil)
            }
            if state.running[id] != nil { state.cancelReasons[id] = reason }
            return (false, state.running[id])
        }
        if let running {
            running.cancel()
            await running.value
        } else {
            let wasLive = wasQueued || directory.cachedSnapshot(of: id)?.state.isTerminal == false
            let ended = try await service.cancelNotRunning(id, reason: reason)
            if wasLive, ended.phase == .canceled { directory.publish(id, event: .canceled(reason: reason)) }
        }
        return try await directory.snapshot(of: id)
    }

    /// Stops taking tasks, lets running tasks reach their next recorded step (at most `grace`),
    /// then stops them without recording more; queued tasks stay unfinished in the store.
    public func stop(grace: Duration) async {
        let running = state.withLock { state -> [Task<Void, Never>] in
            state.stopping = true
            state.queue.removeAll()
            state.queueHead = 0
            return Array(state.running.values)
        }
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline, state.withLock({ !$0.running.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(10))
        }
        for task in running {
            task.cancel()
            await task.value
        }
    }

    public var queuedCount: Int { state.withLock { $0.queuedCount } }
    public var runningCount: Int { state.withLock { $0.running.count } }

    private func reservePlace(for principal: String, quota: PrincipalTaskQuotas.Quota) throws {
        try state.withLock { state in
            if state.stopping {
                throw TaskAdmissionError(retryAfterSeconds: 5, description: "the server is stopping")
            }
            let free = limits.maximumRunning - state.running.count
            let waiting = state.queuedCount + state.reserved
            guard waiting < limits.maximumQueued + max(0, free) else {
                let seconds = Int((Double(waiting) * state.meanTaskSeconds / Double(max(1, limits.maximumRunning))).rounded(.up))
                throw TaskAdmissionError(
                    retryAfterSeconds: min(60, max(1, seconds)),
                    description: "\(state.running.count) tasks are running and \(state.queuedCount) are queued (the limits are \(limits.maximumRunning) and \(limits.maximumQueued))")
            }
            let ownQueued = state.queuedBy[principal, default: 0]
            if let limit = quota.maximumQueued, ownQueued >= limit {
                let ownRunning = state.runningBy[principal, default: 0]
                let seconds = Int((Double(max(1, ownQueued)) * state.meanTaskSeconds / Double(max(1, ownRunning))).rounded(.up))
                throw TaskAdmissionError(
                    retryAfterSeconds: min(60, max(1, seconds)),
                    description: "you have \(ownQueued) tasks waiting and \(ownRunning) running; your role allows \(limit) waiting at once",
                    isPrincipalQuota: true)
            }
            state.reserved += 1
            state.queuedBy[principal, default: 0] += 1
            state.quotas[principal] = quota
        }
    }

    private func enqueue(_ id: String, owner: String?) {
        state.withLock { state in
            state.queue.append(id)
            if let owner { state.owners[id] = owner }
            startWaiting(&state)
        }
    }

    /// Starts queued tasks while workers are free, in order, passing over (for now) the tasks
    /// of a principal that runs as many as its quota allows. Called with the lock held.
    private func startWaiting(_ state: inout State) {
        while !state.stopping, state.running.count < limits.maximumRunning, state.queueHead < state.queue.count {
            // Look a bounded way ahead for a task that may start, so that one principal's
            // backlog does not hold up the others' tasks behind it.
            let window = state.queue[state.queueHead..<min(state.queue.count, state.queueHead + 256)]
            guard let index = window.firstIndex(where: { state.mayStart($0) }) else { return }
            let id = state.queue[index]
            if index == state.queueHead {
                state.queueHead += 1
            } else {
                state.queue.remove(at: index)
            }
            if state.queueHead > 1024, state.queueHead * 2 > state.queue.count {
                state.queue.removeFirst(state.queueHead)
                state.queueHead = 0
            }
            guard state.running[id] == nil else { continue }
            if let owner = state.owners[id] {
                state.queuedBy[owner, default: 1] -= 1
                state.runningBy[owner, default: 0] += 1
            }
            state.running[id] = Task { await self.execute(id) }
        }
    }

    private func execute(_ id: String) async {
        let started = ContinuousClock.now
        directory.markStarted(id)
        let directory = self.directory
        do {
            _ = try await service.run(id, beforeRecording: { [self] _ in
                if self.state.withLock({ $0.stopping }) { throw ServerStopping() }
            }, observe: { event in
                directory.publish(id, event: event)
            })
        } catch {
            if !(error is ServerStopping), let reason = state.withLock({ $0.cancelReasons[id] }) {
                // Canceled before its workflow could record it (still reading its own events):
                // record it here, in a task of its own, since this one is canceled.
                let service = self.service
                let ended = try? await Task { try await service.cancelNotRunning(id, reason: reason) }.value
                if ended?.phase == .canceled { directory.publish(id, event: .canceled(reason: reason)) }
            }
            // Stopping, or the store refused a step: the task stays unfinished in the log and
            // a restart resumes it. Subscribers are released either way.
            directory.retire(id)
        }
        let seconds = (ContinuousClock.now - started).seconds
        state.withLock { state in
            state.running[id] = nil
            state.cancelReasons[id] = nil
            if let owner = state.owners.removeValue(forKey: id) {
                state.runningBy[owner, default: 1] -= 1
                if state.runningBy[owner] == 0 { state.runningBy[owner] = nil }
                if state.queuedBy[owner] == 0 { state.queuedBy[owner] = nil; state.quotas[owner] = nil }
            }
            state.meanTaskSeconds = state.meanTaskSeconds * 0.9 + seconds * 0.1
            startWaiting(&state)
        }
    }
}
