import Synchronization

/// The free workers of one simulated runner in the queue benchmark: taken by its claims and by
/// the submissions written already claimed, given back as jobs end; a claimer with none free
/// waits for one.
final class WorkerSlots: Sendable {
    private struct State {
        var free: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(_ count: Int) {
        state = Mutex(State(free: count))
    }

    /// Free workers now.
    var free: Int { state.withLock(\.free) }

    /// Takes up to `count` free workers; returns how many it took.
    func take(upTo count: Int) -> Int {
        state.withLock { state in
            let taken = min(state.free, max(count, 0))
            state.free -= taken
            return taken
        }
    }

    func give(_ count: Int) {
        guard count > 0 else { return }
        let waiters = state.withLock { state in
            state.free += count
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once a worker is free (without taking it).
    func waitForFree() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.free > 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}
