import Synchronization

/// A runnable task taken by a runner: while the claim lasts, no other runner works on it.
public struct TaskClaim: Sendable, Equatable {
    public var taskID: String
    /// Who submitted the task, when known (for per-principal limits).
    public var owner: String?

    public init(taskID: String, owner: String?) {
        self.taskID = taskID
        self.owner = owner
    }
}

/// Where runnable tasks wait until a runner claims one. Tasks are durable in the event store
/// before they are queued, so a queue holds only ids, and losing it loses nothing: a restart
/// finds the unfinished tasks in the store. The in-process queue is a FIFO in memory; a shared
/// one (several replicas on one database) claims rows with leases that `renew` extends and
/// that expire when a runner dies.
public protocol TaskWorkQueue: Sendable {
    /// Adds a task that may run.
    func enqueue(_ taskID: String, owner: String?) async throws
    /// Takes the first waiting task whose owner `mayStart` accepts, looking a bounded way
    /// ahead; nil when none is waiting or none may start now.
    func claim(where mayStart: @Sendable (String?) -> Bool) async throws -> TaskClaim?
    /// Keeps a claim alive while its task runs.
    func renew(_ claim: TaskClaim) async throws
    /// Ends a claim: the task ended or was given up (it stays unfinished in the store).
    func release(_ claim: TaskClaim) async
    /// Takes a waiting task out (it was canceled before it ran); nil when it was not waiting.
    func withdraw(_ taskID: String) async -> TaskClaim?
    /// Forgets every waiting task (a runner that stops; the store still has them).
    func removeAll() async
}

/// Today's queue: one process, a FIFO in memory. Claims need no lease (the process that holds
/// them is the only one), so `renew` and `release` have nothing to do.
public final class InProcessTaskQueue: TaskWorkQueue {
    private struct Contents {
        var order: [TaskClaim] = []
        var head = 0
        var count: Int { order.count - head }
    }

    /// How far past the head a claim looks for a task whose owner may start one.
    public static let lookahead = 256
    private let contents = Mutex(Contents())

    public init() {}

    public func enqueue(_ taskID: String, owner: String?) {
        contents.withLock { $0.order.append(TaskClaim(taskID: taskID, owner: owner)) }
    }

    public func claim(where mayStart: @Sendable (String?) -> Bool) -> TaskClaim? {
        contents.withLock { contents in
            let end = min(contents.order.count, contents.head + Self.lookahead)
            guard let index = contents.order[contents.head..<end].firstIndex(where: { mayStart($0.owner) }) else { return nil }
            let claim = contents.order[index]
            if index == contents.head {
                contents.head += 1
            } else {
                contents.order.remove(at: index)
            }
            // Drop the consumed prefix now and then, not on every claim.
            if contents.head > 1024, contents.head * 2 > contents.order.count {
                contents.order.removeFirst(contents.head)
                contents.head = 0
            }
            return claim
        }
    }

    public func renew(_ claim: TaskClaim) {}

    public func release(_ claim: TaskClaim) {}

    public func withdraw(_ taskID: String) -> TaskClaim? {
        contents.withLock { contents in
            guard let index = contents.order[contents.head...].firstIndex(where: { $0.taskID == taskID }) else { return nil }
            return contents.order.remove(at: index)
        }
    }

    public func removeAll() {
        contents.withLock { $0 = Contents() }
    }

    /// Tasks waiting now.
    public var count: Int { contents.withLock { $0.count } }
}
