import Synchronization

/// Something that happens once (a task ends), awaited by any number of tasks. A waiter that is
/// canceled stops waiting at once.
final class Completion: Sendable {
    private struct Waiters {
        var done = false
        var next = 0
        var continuations: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let waiters = Mutex(Waiters())

    func complete() {
        let waiting = waiters.withLock { waiters -> [CheckedContinuation<Void, Never>] in
            waiters.done = true
            defer { waiters.continuations = [:] }
            return Array(waiters.continuations.values)
        }
        for continuation in waiting { continuation.resume() }
    }

    func wait() async {
        let key = waiters.withLock { waiters -> Int in
            defer { waiters.next += 1 }
            return waiters.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = waiters.withLock { waiters -> Bool in
                    if waiters.done || Task.isCancelled { return true }
                    waiters.continuations[key] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = waiters.withLock { $0.continuations.removeValue(forKey: key) }
            continuation?.resume()
        }
    }
}
