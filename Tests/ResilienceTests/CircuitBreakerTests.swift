import Synchronization
import Testing
@testable import Resilience

@Suite struct CircuitBreakerTests {
    struct Boom: Error {}

    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        let now = Mutex(ContinuousClock.now)
        func advance(_ duration: Duration) { now.withLock { $0 = $0 + duration } }
        var read: @Sendable () -> ContinuousClock.Instant { { self.now.withLock { $0 } } }
    }

    @Test func opensAfterConsecutiveFailuresAndFailsFastWhileOpen() async throws {
        let clock = ManualClock()
        let breaker = CircuitBreaker(name: "model", failureThreshold: 3, coolDown: .seconds(10), clock: clock.read)
        for _ in 0..<3 {
            await #expect(throws: Boom.self) { try await breaker.run { throw Boom() } }
        }
        #expect(breaker.state == .open)
        let calls = Mutex(0)
        await #expect(throws: CircuitOpenError.self) {
            try await breaker.run { calls.withLock { $0 += 1 } }
        }
        #expect(calls.withLock { $0 } == 0, "an open circuit does not call the operation")
    }

    @Test func aSuccessfulTrialAfterTheCoolDownClosesIt() async throws {
        let clock = ManualClock()
        let breaker = CircuitBreaker(name: "model", failureThreshold: 1, coolDown: .seconds(10), clock: clock.read)
        await #expect(throws: Boom.self) { try await breaker.run { throw Boom() } }
        clock.advance(.seconds(11))
        #expect(breaker.state == .halfOpen)
        #expect(try await breaker.run { 42 } == 42)
        #expect(breaker.state == .closed)
    }

    @Test func aFailedTrialOpensItAgain() async throws {
        let clock = ManualClock()
        let breaker = CircuitBreaker(name: "model", failureThreshold: 2, coolDown: .seconds(5), clock: clock.read)
        for _ in 0..<2 { await #expect(throws: Boom.self) { try await breaker.run { throw Boom() } } }
        clock.advance(.seconds(6))
        await #expect(throws: Boom.self) { try await breaker.run { throw Boom() } }
        #expect(breaker.state == .open)
        await #expect(throws: CircuitOpenError.self) { try await breaker.run { 1 } }
    }

    @Test func successesResetTheFailureCount() async throws {
        let breaker = CircuitBreaker(name: "model", failureThreshold: 2, coolDown: .seconds(5))
        await #expect(throws: Boom.self) { try await breaker.run { throw Boom() } }
        _ = try await breaker.run { 1 }
        await #expect(throws: Boom.self) { try await breaker.run { throw Boom() } }
        #expect(breaker.state == .closed)
    }
}
