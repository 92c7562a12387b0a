import Dispatch
import Synchronization

/// Work on the database in a task of its own, which its starter can stop waiting for.
///
/// PostgresNIO 1.33.2 has calls that ignore cancellation and may never return: a query on a
/// connection whose server went silent, a call on a connection closed while it was being
/// sent, a pool's run after a server restart (issue 16: a replica that logged "stopped" on
/// SIGTERM and never exited). Inside a task group, one such call holds its parent, and so the
/// process, forever. Here the starter waits for the work only while it wants the result;
/// then `cancel(waitingAtMost:)` cancels it, waits a bounded time, and otherwise abandons it
/// (it runs on, harmlessly, until the process exits). Nothing is lost by that: the callers of
/// database operations are answered by their deadlines, and what was acknowledged is committed.
///
/// Unstructured on purpose: it is the only way not to wait for a call that never returns. The
/// task inherits the starter's task locals (its graceful shutdown, its logger metadata).
package final class AbandonableTask: Sendable {
    private let task: Task<Void, Never>
    private let ended: Ended

    package init(_ work: @escaping @Sendable () async -> Void) {
        let ended = Ended()
        self.ended = ended
        task = Task {
            await work()
            ended.finish()
        }
    }

    /// Whether the work has ended.
    package var isEnded: Bool { ended.isEnded }

    /// Returns when the work has ended, or at once when the calling task is cancelled.
    package func wait() async {
        await ended.wait(limit: nil)
    }

    /// Cancels the work and waits for it at most `grace`, also when the calling task is itself
    /// cancelled (a timer, not `Task.sleep`, bounds the wait). Returns false when it abandoned
    /// the work still running.
    package func cancel(waitingAtMost grace: Duration) async -> Bool {
        task.cancel()
        await ended.wait(limit: grace)
        return ended.isEnded
    }
}

/// Set once the work has ended; a wait ends then, at its limit, or (without a limit) when the
/// waiting task is cancelled. One continuation per waiter, resumed exactly once.
private final class Ended: Sendable {
    private struct State {
        var ended = false
        var next: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    var isEnded: Bool { state.withLock { $0.ended } }

    func finish() {
        let waiters = state.withLock { state in
            state.ended = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait(limit: Duration?) async {
        let id = state.withLock { state in
            defer { state.next &+= 1 }
            return state.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    guard !state.ended, limit != nil || !Task.isCancelled else { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow {
                    continuation.resume()
                } else if let limit {
                    let (seconds, attoseconds) = limit.components
                    let nanoseconds = max(0, seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue &+ attoseconds / 1_000_000_000)
                    DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: nanoseconds))) { self.resume(id) }
                }
            }
        } onCancel: {
            if limit == nil { resume(id) }
        }
    }

    private func resume(_ id: UInt64) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.resume()
    }
}
