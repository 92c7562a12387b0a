import Synchronization

/// When a periodic refresh (`PostgresAPIKeyRefresher`) runs its next round: every `interval`,
/// or sooner when a caller asks for a fresh round (`awaitFreshRound`), but never more often than
/// once per `tick`, however many callers ask. A caller waits for a round that *starts after it
/// asked*, so whatever committed before the call is seen by the time it returns; callers who ask
/// during the same tick share one round. That bounds what asking can cost (one round per tick per
/// replica, whoever floods it) while an honest caller waits at most a tick plus one round.
///
/// The loop checks for demand once per tick rather than being woken: a flag read under a lock a few
/// dozen times a second costs nothing, and it needs no wake-up that a cancellation could race with.
public final class RefreshRoundSchedule: Sendable {
    private struct Waiter {
        /// The round whose completion answers this caller: the first that starts after it asked.
        var round: UInt64
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var started: UInt64 = 0
        var demanded = false
        /// Only while the loop runs does a caller wait; otherwise no round would ever answer it.
        var running = false
        var waiters: [Waiter] = []
    }

    public let interval: Duration
    public let tick: Duration
    private let state = Mutex(State())

    /// `tick` is clamped to at least a millisecond and at most `interval`.
    public init(interval: Duration, tick: Duration) {
        self.interval = interval
        self.tick = max(min(tick, interval), .milliseconds(1))
    }

    /// Waits until a round that started after this call has ended (successfully or not). Returns at
    /// once, without a round, when no loop is running (before start-up loaded the keys, after
    /// shutdown): the caller then decides on what it has.
    public func awaitFreshRound() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waits = state.withLock { state -> Bool in
                guard state.running else { return false }
                state.demanded = true
                // `started` is not incremented before the round reads anything, so `started + 1`
                // is a round that has not read yet.
                state.waiters.append(Waiter(round: state.started &+ 1, continuation: continuation))
                return true
            }
            if !waits { continuation.resume() }
        }
    }

    /// Runs `round` now and then every `interval`, or at the next tick after a caller asked for
    /// one, until the surrounding task is cancelled. Every caller still waiting when it ends is
    /// answered.
    public func run(_ round: () async -> Void) async {
        let clock = ContinuousClock()
        state.withLock { $0.running = true }
        defer {
            let waiting = state.withLock { state -> [Waiter] in
                state.running = false
                state.demanded = false
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiting { waiter.continuation.resume() }
        }
        while !Task.isCancelled {
            let number = state.withLock { state -> UInt64 in
                state.started &+= 1
                state.demanded = false
                return state.started
            }
            let began = clock.now
            await round()
            let answered = state.withLock { state -> [Waiter] in
                let (done, waiting) = state.waiters.reduce(into: ([Waiter](), [Waiter]())) { parts, waiter in
                    if waiter.round <= number { parts.0.append(waiter) } else { parts.1.append(waiter) }
                }
                state.waiters = waiting
                return done
            }
            for waiter in answered { waiter.continuation.resume() }
            // Until the interval has passed or someone asked, a tick at a time.
            repeat {
                do {
                    try await Task.sleep(for: tick)
                } catch {
                    return
                }
            } while !state.withLock({ $0.demanded }) && clock.now - began < interval
        }
    }
}
