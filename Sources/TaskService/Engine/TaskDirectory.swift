import Foundation
import ResearchCore
import Storage
import Synchronization

/// Where the engine finds a task: live tasks (queued or running) in memory, updated as each
/// step is recorded and watched by subscribers; ended tasks in a bounded cache; anything else
/// folded from the event store. Subscribing and reading the current state happen under one
/// lock, so a subscriber never misses or repeats a step.
///
/// With several replicas on one database (issue 16), a `TaskChangeFollower` also feeds in the
/// steps other replicas record: a task that runs elsewhere becomes live here when it is first
/// looked at (`snapshot(of:)`), and from then on its subscribers here see every step and its
/// end. Steps are applied by stream version, so one that arrives twice (recorded here and
/// then read back from the change feed) is applied once.
public final class TaskDirectory: Sendable {
    private struct LiveTask {
        var snapshot: TaskSnapshot
        var subscribers: [UInt64: AsyncStream<TaskUpdate>.Continuation] = [:]
    }

    private struct Contents {
        var live: [String: LiveTask] = [:]
        /// A finished task's state holds its evidence and report (tens of kB): keep few.
        var ended = BoundedCache<TaskSnapshot>(capacity: 512)
        var nextSubscriber: UInt64 = 0
        /// Subscriptions that end at a deadline (blocking calls), ended by one sweeper: a
        /// sleeping task per waiter would keep its timer alive until the deadline even
        /// when the wait ends early.
        var deadlines: [(id: String, key: UInt64, deadline: ContinuousClock.Instant)] = []
        /// Global listeners (push notifications, metrics) see every update of every task
        /// recorded by this process (the replica that records a step notifies for it).
        var listeners: [@Sendable (TaskUpdate) -> Void] = []
        /// A change follower feeds in other replicas' steps: unfinished tasks read from the
        /// store become live here (something will update them).
        var followsOtherReplicas = false
        /// Tasks this process's runner is running: their steps are published here as they are
        /// recorded, and the change feed brings the same steps back.
        var runningHere: Set<String> = []
        /// Steps of tasks running here that the change feed applied before the runner published
        /// them (the feed can read a commit back before the append that made it returns): the
        /// listeners hear of them when the runner's own publish comes, exactly once, with the
        /// snapshot at that step. Bounded: a step recorded elsewhere for a task running here
        /// (a cancellation) never gets its local publish.
        var followedAheadOfLocal: [StepKey: TaskUpdate] = [:]
    }

    private struct StepKey: Hashable {
        var stream: String
        var version: Int64
    }

    /// How many feed-applied steps wait for their local publish at most.
    private static let followedAheadLimit = 1024

    public let service: ResearchTaskService
    private let contents = Mutex(Contents())

    public init(service: ResearchTaskService) {
        self.service = service
    }

    /// Ends the subscriptions whose deadline passed, once a second, until canceled. The task
    /// runner runs it as one of its child tasks.
    func sweepExpiredSubscriptions() async {
        while !Task.isCancelled {
            endExpiredSubscriptions()
            try? await Task.sleep(for: .seconds(1))
        }
    }

    func endExpiredSubscriptions() {
        let now = ContinuousClock.now
        let expired = contents.withLock { contents -> [AsyncStream<TaskUpdate>.Continuation] in
            var expired: [AsyncStream<TaskUpdate>.Continuation] = []
            // Also drops the entries of waits that ended on their own.
            contents.deadlines.removeAll { entry in
                guard entry.deadline <= now else { return contents.live[entry.id]?.subscribers[entry.key] == nil }
                if let continuation = contents.live[entry.id]?.subscribers.removeValue(forKey: entry.key) { expired.append(continuation) }
                return true
            }
            return expired
        }
        for continuation in expired { continuation.finish() }
    }

    /// Adds a listener called for every recorded step of every live task (outside the lock).
    public func addListener(_ listener: @escaping @Sendable (TaskUpdate) -> Void) {
        contents.withLock { $0.listeners.append(listener) }
    }

    /// A task submitted under an id its caller chose becomes live, unless a task of that id
    /// is live or cached here already (then nothing changes): returns whether it was added.
    func registerNew(_ snapshot: TaskSnapshot) -> Bool {
        contents.withLock { contents in
            guard contents.live[snapshot.id] == nil, contents.ended.get(snapshot.id) == nil else { return false }
            contents.live[snapshot.id] = LiveTask(snapshot: snapshot)
            return true
        }
    }

    /// A task becomes live: submitted here, or resumed after a restart, or claimed here after
    /// another replica queued it. Already live (looked at here while another replica ran it):
    /// its subscribers stay, and so does the newer of the two snapshots.
    func register(_ snapshot: TaskSnapshot) {
        contents.withLock { contents in
            guard var live = contents.live[snapshot.id] else {
                contents.live[snapshot.id] = LiveTask(snapshot: snapshot)
                return
            }
            if snapshot.version >= live.snapshot.version {
                live.snapshot = snapshot
            } else {
                live.snapshot.isQueued = snapshot.isQueued
            }
            contents.live[snapshot.id] = live
        }
    }

    /// A live task's snapshot replaced by `snapshot` at the same version (a more exact
    /// time); a task that moved on or ended meanwhile is left as it is.
    func refine(_ snapshot: TaskSnapshot) {
        contents.withLock { contents in
            guard var live = contents.live[snapshot.id], live.snapshot.version == snapshot.version else { return }
            live.snapshot.updatedAt = snapshot.updatedAt
            contents.live[snapshot.id] = live
        }
    }

    /// Whether other replicas' steps are fed in (a `TaskChangeFollower` runs).
    public var followsOtherReplicas: Bool { contents.withLock { $0.followsOtherReplicas } }

    func followOtherReplicas() {
        contents.withLock { $0.followsOtherReplicas = true }
    }

    func markStarted(_ id: String) {
        contents.withLock {
            $0.live[id]?.snapshot.isQueued = false
            $0.runningHere.insert(id)
        }
    }

    /// A step of a live task was recorded: fold it, tell subscribers, and retire the task
    /// to the ended cache when the step ends it. The snapshot takes the stored event's version
    /// and time, so what subscribers see is what the store holds. A step at or below the
    /// snapshot's version was applied already (it came back through the change feed) and is
    /// ignored; listeners hear only of steps recorded here (`local`).
    func publish(_ id: String, stored: StoredEvent, event: TaskEvent, local: Bool = true) {
        typealias Subscriber = AsyncStream<TaskUpdate>.Continuation
        // Continuations are resumed outside the lock: finishing one runs its termination
        // handler, which takes the lock again.
        let outcome = contents.withLock { contents -> (TaskUpdate, [Subscriber], ended: Bool, [@Sendable (TaskUpdate) -> Void])? in
            guard var live = contents.live[id], stored.version > live.snapshot.version else {
                // Applied already: by the feed, ahead of this publish by the runner? Then the
                // listeners (push notifications, tracing, metrics) have not heard of it yet.
                guard local, let update = contents.followedAheadOfLocal.removeValue(forKey: StepKey(stream: id, version: stored.version))
                else { return nil }
                if update.snapshot.state.isTerminal { contents.runningHere.remove(id) }
                return (update, [], false, contents.listeners)
            }
            do {
                try live.snapshot.state.apply(event)
            } catch {
                return nil
            }
            let stepSeconds = stored.recordedAt.timeIntervalSince(live.snapshot.updatedAt)
            live.snapshot.version = stored.version
            live.snapshot.updatedAt = stored.recordedAt
            live.snapshot.isQueued = false
            let update = TaskUpdate(snapshot: live.snapshot, event: event, stored: stored, stepSeconds: stepSeconds)
            let ended = live.snapshot.state.isTerminal
            if ended {
                contents.live[id] = nil
                contents.ended.set(id, live.snapshot)
            } else {
                contents.live[id] = live
            }
            if !local, contents.runningHere.contains(id) {
                if contents.followedAheadOfLocal.count >= Self.followedAheadLimit { contents.followedAheadOfLocal.removeAll() }
                contents.followedAheadOfLocal[StepKey(stream: id, version: stored.version)] = update
            } else if local, ended {
                contents.runningHere.remove(id)
            }
            return (update, Array(live.subscribers.values), ended, local ? contents.listeners : [])
        }
        guard let (update, subscribers, ended, listeners) = outcome else { return }
        for subscriber in subscribers {
            subscriber.yield(update)
            if ended { subscriber.finish() }
        }
        for listener in listeners { listener(update) }
    }

    /// A live task stopped without ending (the server is shutting down): forget it here;
    /// the store still has it as unfinished.
    func retire(_ id: String) {
        let subscribers = contents.withLock { contents in
            contents.runningHere.remove(id)
            contents.followedAheadOfLocal = contents.followedAheadOfLocal.filter { $0.key.stream != id }
            return contents.live.removeValue(forKey: id).map { Array($0.subscribers.values) } ?? []
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    /// Tasks removed by retention: dropped from the ended cache, so that reads go to the store
    /// (which answers with their summary). Live tasks are never pruned.
    func forget(_ ids: [String]) {
        contents.withLock { contents in
            for id in ids { contents.ended.remove(id) }
        }
    }

    /// The current snapshot of a task from memory, without touching the store.
    public func cachedSnapshot(of id: String) -> TaskSnapshot? {
        contents.withLock { $0.live[id]?.snapshot ?? $0.ended.get(id) }
    }

    /// The task's current snapshot; throws `ResearchTaskError.unknownTask` for an unknown id.
    /// Following other replicas, an unfinished task read from the store becomes live here.
    public func snapshot(of id: String) async throws -> TaskSnapshot {
        if let cached = cachedSnapshot(of: id) { return cached }
        let (state, version, updatedAt) = try await service.snapshot(of: id)
        let snapshot = TaskSnapshot(id: id, state: state, version: version, updatedAt: updatedAt)
        if state.isTerminal {
            contents.withLock { $0.ended.set(id, snapshot) }
        } else if followsOtherReplicas {
            register(snapshot)
            // A step the feed delivered between the read above and the registration found the
            // task not live and was dropped: read the store once more, now that every later
            // step reaches the live task.
            try await catchUp(id)
        }
        return cachedSnapshot(of: id) ?? snapshot
    }

    /// A step another replica recorded (from the change feed), for any stream: applied if its
    /// task is live here. A step beyond the next one (the feed started after the task became
    /// live, or a step was dropped) brings the task up to date from the store first.
    func applyFollowed(_ stored: StoredEvent) async {
        guard stored.stream.hasPrefix("task-"),
              let live = contents.withLock({ $0.live[stored.stream]?.snapshot }), stored.version > live.version else { return }
        guard stored.version == live.version + 1 else {
            try? await catchUp(stored.stream)
            return
        }
        guard let event = try? await service.decodeFollowed(stored, after: live.state) else { return }
        publish(stored.stream, stored: stored, event: event, local: false)
    }

    /// Applies the stored steps of a live task that are newer than its snapshot.
    private func catchUp(_ id: String) async throws {
        guard let live = contents.withLock({ $0.live[id]?.snapshot }) else { return }
        var state = live.state
        for stored in try await service.store.read(stream: id, afterVersion: live.version) {
            let event = try await service.decodeFollowed(stored, after: state)
            try? state.apply(event)
            publish(id, stored: stored, event: event, local: false)
        }
    }

    /// The current snapshot and the steps that follow it, for a live task; nil when the task
    /// is not live (it has ended, or is unknown).
    public func subscribe(to id: String, until deadline: ContinuousClock.Instant? = nil) -> (snapshot: TaskSnapshot, updates: AsyncStream<TaskUpdate>)? {
        let (stream, continuation) = AsyncStream.makeStream(of: TaskUpdate.self, bufferingPolicy: .unbounded)
        let result = contents.withLock { contents -> (TaskSnapshot, UInt64)? in
            guard contents.live[id] != nil, let snapshot = contents.live[id]?.snapshot else { return nil }
            let key = contents.nextSubscriber
            contents.nextSubscriber += 1
            contents.live[id]?.subscribers[key] = continuation
            if let deadline { contents.deadlines.append((id, key, deadline)) }
            return (snapshot, key)
        }
        guard let (snapshot, key) = result else {
            continuation.finish()
            return nil
        }
        continuation.onTermination = { [weak self] _ in
            self?.contents.withLock { _ = $0.live[id]?.subscribers.removeValue(forKey: key) }
        }
        return (snapshot, stream)
    }

    /// Waits until the task ends, at most `timeout`; returns its snapshot then (unfinished
    /// if the time ran out).
    public func waitUntilEnded(_ id: String, timeout: Duration) async throws -> TaskSnapshot {
        guard let (current, updates) = subscribe(to: id, until: .now + timeout) else { return try await snapshot(of: id) }
        if current.state.isTerminal { return current }
        var last = current
        for await update in updates { last = update.snapshot }
        if last.state.isTerminal { return last }
        return try await snapshot(of: id)
    }
}
