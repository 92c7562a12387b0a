import Synchronization

/// A runnable task taken by a runner: while the claim lasts, no other runner works on it.
public struct TaskClaim: Sendable, Equatable {
    public var taskID: String
    /// Who submitted the task, when known (for per-principal limits).
    public var owner: String?
    /// Which claim of the task this is (a shared queue counts them): the fencing token that
    /// renewals and releases name, so a runner whose lease expired and was taken over cannot
    /// renew or release the claim that replaced its own. 0 in a queue without leases.
    public var attempt: Int64

    public init(taskID: String, owner: String?, attempt: Int64 = 0) {
        self.taskID = taskID
        self.owner = owner
        self.attempt = attempt
    }
}

/// How a claim ends: the runner is done with the task (it ended, or cannot be run: the row
/// goes), or it gave the task up unfinished (a draining replica, a write fenced by another
/// runner): then the task is claimable again at once, here or on another replica.
public enum TaskClaimEnd: Sendable, Equatable {
    case ended
    case givenUp
}

/// Where runnable tasks wait until a runner claims one. Tasks are durable in the event store
/// before they are queued, so a queue holds only ids, and losing it loses nothing: a restart
/// finds the unfinished tasks in the store. The in-process queue is a FIFO in memory; a shared
/// one (several replicas on one database, `PostgresTaskQueue`) claims rows with leases that
/// `renew` extends and that expire when a runner dies, so another replica takes the task over.
public protocol TaskWorkQueue: Sendable {
    /// How long a claim lasts unless renewed; nil when claims last until released (a queue
    /// in one process, whose claims die with it). The runner renews its claims three times
    /// per lease.
    var leaseDuration: Duration? { get }
    /// How often an idle runner looks for work it was not told about (tasks enqueued by other
    /// replicas, leases of a dead replica that expired); nil when every enqueue is local.
    var pollInterval: Duration? { get }
    /// Adds a task that may run, unless it is already queued or claimed (resuming after a
    /// restart must not queue a task another replica runs). Returns whether it was added.
    @discardableResult
    func enqueue(_ taskID: String, owner: String?) async throws -> Bool
    /// Takes the first waiting task whose owner is not in `excludedOwners` (principals at
    /// their running quota); nil when none is waiting or none may start now.
    func claim(excludingOwners excludedOwners: Set<String>) async throws -> TaskClaim?
    /// Takes up to `limit` waiting tasks at once, oldest first, as `claim(excludingOwners:)`
    /// takes one; [] when none may start now. A shared queue does it in one statement, so a
    /// runner with several free workers pays one round trip, not one per task.
    func claim(excludingOwners excludedOwners: Set<String>, limit: Int) async throws -> [TaskClaim]
    /// Extends the leases of running claims; returns the claims that were lost (taken over
    /// by another runner after they expired): their tasks must stop here without recording more.
    func renew(_ claims: [TaskClaim]) async throws -> [TaskClaim]
    /// Ends a claim: the task `ended` (or cannot run) or was `givenUp` unfinished.
    func release(_ claim: TaskClaim, _ end: TaskClaimEnd) async
    /// Takes a waiting task out (it was canceled before it ran); nil when it was not waiting.
    func withdraw(_ taskID: String) async -> TaskClaim?
    /// Which of `taskIDs` are still waiting (not claimed, not withdrawn): what a runner uses to
    /// count the tasks it queued that wait, when other replicas claim from the same queue.
    func waiting(among taskIDs: [String]) async throws -> Set<String>
    /// The runner stops: forget what only this process holds. A shared queue keeps its rows:
    /// the other replicas run them.
    func removeAll() async
    /// The database that holds this queue's rows, when a `TaskQueueingEventStore` on the same
    /// database can queue a task in the commit that records it; nil (the default) for a
    /// queue of its own (in memory), into which the runner enqueues after recording.
    var queueDomain: ObjectIdentifier? { get }
    /// The lease this runner's submissions may be written with, already claimed
    /// (`TaskQueueingEventStore.appendQueueing(…leasedTo:)`), when it has a free worker: one
    /// statement less per task. nil (the default) for a queue without leases.
    var submissionLease: TaskQueueLease? { get }
}

extension TaskWorkQueue {
    public var queueDomain: ObjectIdentifier? { nil }
    public var submissionLease: TaskQueueLease? { nil }

    /// One claim after another: right for a queue whose claims cost no round trip.
    public func claim(excludingOwners excludedOwners: Set<String>, limit: Int) async throws -> [TaskClaim] {
        var claims: [TaskClaim] = []
        while claims.count < limit, let claim = try await claim(excludingOwners: excludedOwners) { claims.append(claim) }
        return claims
    }
}

/// Today's queue: one process, a FIFO in memory. Claims need no lease (the process that holds
/// them is the only one), so `renew` and `release` have nothing to do.
public final class InProcessTaskQueue: TaskWorkQueue {
    private struct Contents {
        var order: [TaskClaim] = []
        var head = 0
        /// The ids in `order[head...]`, so that enqueueing one twice queues it once.
        var waiting: Set<String> = []
        var count: Int { order.count - head }
    }

    /// How far past the head a claim looks for a task whose owner may start one.
    public static let lookahead = 256
    private let contents = Mutex(Contents())

    public init() {}

    public var leaseDuration: Duration? { nil }
    public var pollInterval: Duration? { nil }

    @discardableResult
    public func enqueue(_ taskID: String, owner: String?) -> Bool {
        contents.withLock { contents in
            guard contents.waiting.insert(taskID).inserted else { return false }
            contents.order.append(TaskClaim(taskID: taskID, owner: owner))
            return true
        }
    }

    public func claim(excludingOwners excludedOwners: Set<String>) -> TaskClaim? {
        contents.withLock { contents in
            let end = min(contents.order.count, contents.head + Self.lookahead)
            guard let index = contents.order[contents.head..<end].firstIndex(where: { claim in
                claim.owner.map { !excludedOwners.contains($0) } ?? true
            }) else { return nil }
            let claim = contents.order[index]
            if index == contents.head {
                contents.head += 1
            } else {
                contents.order.remove(at: index)
            }
            contents.waiting.remove(claim.taskID)
            // Drop the consumed prefix now and then, not on every claim.
            if contents.head > 1024, contents.head * 2 > contents.order.count {
                contents.order.removeFirst(contents.head)
                contents.head = 0
            }
            return claim
        }
    }

    public func renew(_ claims: [TaskClaim]) -> [TaskClaim] { [] }

    /// A claim given up puts the task back at the head of the queue (a runner that claimed
    /// more than it could start hands the rest back).
    public func release(_ claim: TaskClaim, _ end: TaskClaimEnd) {
        guard end == .givenUp else { return }
        contents.withLock { contents in
            guard contents.waiting.insert(claim.taskID).inserted else { return }
            if contents.head > 0 {
                contents.head -= 1
                contents.order[contents.head] = claim
            } else {
                contents.order.insert(claim, at: 0)
            }
        }
    }

    public func withdraw(_ taskID: String) -> TaskClaim? {
        contents.withLock { contents in
            guard contents.waiting.contains(taskID),
                  let index = contents.order[contents.head...].firstIndex(where: { $0.taskID == taskID }) else { return nil }
            contents.waiting.remove(taskID)
            return contents.order.remove(at: index)
        }
    }

    public func waiting(among taskIDs: [String]) -> Set<String> {
        contents.withLock { contents in Set(taskIDs.filter { contents.waiting.contains($0) }) }
    }

    public func removeAll() {
        contents.withLock { $0 = Contents() }
    }

    /// Tasks waiting now.
    public var count: Int { contents.withLock { $0.count } }
}
