import Synchronization

/// Wakes an idle benchmark worker when a job was submitted, as `TaskRunner` is woken by a local
/// submission (its `.work` signal) instead of asking the database again and again: a worker
/// that found nothing to claim waits here, not in a loop of empty claims (16 workers polling
/// every 10 ms sent more claim statements than the useful work did, on the cores the producers
/// and PostgreSQL need). One `notify` per committed submission wakes one waiter (or is kept for
/// the next); `finish` wakes everyone for good, when no more submissions come.
final class SubmissionSignal: Sendable {
    private struct State {
        var pending = 0
        var finished = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func notify() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.pending += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume()
    }

    func finish() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.finished = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether `finish` was called: a worker that finds nothing then looks again after a pause.
    var isFinished: Bool { state.withLock(\.finished) }

    func wait() async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if state.finished { return true }
                if state.pending > 0 {
                    state.pending -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
