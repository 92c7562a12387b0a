import Foundation
import ResearchCore
import Synchronization
import TaskService

/// Why the runner refused a task: every worker and queue place is taken, or the server is
/// stopping. Carries a hint of when to retry.
public struct TaskAdmissionError: Error, Sendable, CustomStringConvertible {
    public var retryAfterSeconds: Int
    public var description: String
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
        public init(maximumRunning: Int = 4, maximumQueued: Int = 1000) {
            self.maximumRunning = maximumRunning
            self.maximumQueued = maximumQueued
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
    }

    public let limits: Limits
    public let directory: TaskDirectory
    private let state = Mutex(State())

    public init(directory: TaskDirectory, limits: Limits) {
        self.directory = directory
        self.limits = limits
    }

    private var service: ResearchTaskService { directory.service }

    /// Records a new task and starts or queues it; refuses with `TaskAdmissionError` when full.
    public func submit(question: String, principal: String, contextID: String?) async throws -> TaskSnapshot {
        try reservePlace()
        defer { state.withLock { $0.reserved -= 1 } }
        let (id, submitted, recordedAt) = try await service.submitTask(question: question, principal: principal, contextID: contextID)
        let queued = TaskSnapshot(id: id, state: submitted, version: 1, updatedAt: recordedAt, isQueued: true)
        directory.register(queued)
        enqueue(id)
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
            enqueue(id)
        }
    }

    /// Cancels a queued or running task and returns its snapshot after the cancellation (or
    /// unchanged, when it had already ended).
    public func cancel(_ id: String, reason: String) async throws -> TaskSnapshot {
        let (wasQueued, running) = state.withLock { state -> (Bool, Task<Void, Never>?) in
            if let index = state.queue[state.queueHead...].firstIndex(of: id) {
                state.queue.remove(at: index)
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

    private func reservePlace() throws {
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
            state.reserved += 1
        }
    }

    private func enqueue(_ id: String) {
        state.withLock { state in
            state.queue.append(id)
            startWaiting(&state)
        }
    }

    /// Starts queued tasks while workers are free. Called with the lock held.
    private func startWaiting(_ state: inout State) {
        while !state.stopping, state.running.count < limits.maximumRunning, state.queueHead < state.queue.count {
            let id = state.queue[state.queueHead]
            state.queueHead += 1
            if state.queueHead > 1024, state.queueHead * 2 > state.queue.count {
                state.queue.removeFirst(state.queueHead)
                state.queueHead = 0
            }
            guard state.running[id] == nil else { continue }
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
            state.meanTaskSeconds = state.meanTaskSeconds * 0.9 + seconds * 0.1
            startWaiting(&state)
        }
    }
}
