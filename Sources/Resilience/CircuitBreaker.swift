import Foundation
import Synchronization

/// Stops calling a dependency that keeps failing, so a dead model endpoint costs one fast
/// error instead of a timeout per call, and lets a trial call through after a cool-down.
///
/// Closed: calls pass; `failureThreshold` consecutive failures open it. Open: calls fail at
/// once with `CircuitOpenError` until `coolDown` has passed. Half-open: one trial call passes;
/// success closes the circuit, failure opens it again for another cool-down.
public final class CircuitBreaker: Sendable {
    public enum State: Sendable, Equatable { case closed, open, halfOpen }

    public let name: String
    public let failureThreshold: Int
    public let coolDown: Duration
    private let clock: @Sendable () -> ContinuousClock.Instant
    private let guarded: Mutex<(state: State, failures: Int, openedAt: ContinuousClock.Instant?, trialInFlight: Bool)>

    public init(name: String, failureThreshold: Int = 5, coolDown: Duration = .seconds(30),
                clock: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.name = name
        self.failureThreshold = max(1, failureThreshold)
        self.coolDown = coolDown
        self.clock = clock
        guarded = Mutex((state: .closed, failures: 0, openedAt: nil, trialInFlight: false))
    }

    public var state: State {
        guarded.withLock { current in
            if current.state == .open, let opened = current.openedAt, clock() - opened >= coolDown { return .halfOpen }
            return current.state
        }
    }

    /// Runs `operation` if the circuit lets it through; records its outcome.
    public func run<T: Sendable>(_ operation: @Sendable () async throws -> T) async throws -> T {
        try admit()
        do {
            let value = try await operation()
            guarded.withLock { $0 = (state: .closed, failures: 0, openedAt: nil, trialInFlight: false) }
            return value
        } catch is CancellationError {
            guarded.withLock { $0.trialInFlight = false }
            throw CancellationError()
        } catch {
            let now = clock()
            guarded.withLock { current in
                current.failures += 1
                current.trialInFlight = false
                if current.state == .halfOpen || current.failures >= failureThreshold {
                    current.state = .open
                    current.openedAt = now
                }
            }
            throw error
        }
    }

    private func admit() throws {
        let now = clock()
        try guarded.withLock { current in
            switch current.state {
            case .closed:
                return
            case .open:
                guard let opened = current.openedAt, now - opened >= coolDown else {
                    throw CircuitOpenError(name: name, retryAfter: current.openedAt.map { coolDown - (now - $0) } ?? coolDown)
                }
                current.state = .halfOpen
                current.trialInFlight = true
            case .halfOpen:
                guard !current.trialInFlight else { throw CircuitOpenError(name: name, retryAfter: .zero) }
                current.trialInFlight = true
            }
        }
    }
}

/// A call refused because its circuit is open.
public struct CircuitOpenError: Error, CustomStringConvertible, Sendable {
    public var name: String
    public var retryAfter: Duration
    public var description: String { "\(name) is unavailable (circuit open after repeated failures); retry in \(retryAfter)" }
}
