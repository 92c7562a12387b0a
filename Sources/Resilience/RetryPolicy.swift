import Foundation

/// Retries an operation with exponential backoff and full jitter.
///
/// Full jitter (a uniformly random delay between zero and the exponential cap) spreads the
/// retries of many clients that failed together, so they do not hit a recovering service in
/// lock step.
public struct RetryPolicy: Sendable {
    /// Total attempts, the first one included.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int = 4, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(5)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The delay before retry number `retry` (1 for the first retry), before jitter.
    public func backoffCap(forRetry retry: Int) -> Duration {
        let exponent = min(max(retry - 1, 0), 30)
        let cap = baseDelay * (1 << exponent)
        return min(cap, maxDelay)
    }

    /// Runs `operation` until it succeeds, fails with an error `isRetryable` rejects, or the
    /// attempts run out; the last error is rethrown. Cancellation stops the waiting at once.
    public func run<T: Sendable>(
        isRetryable: @Sendable (any Error) -> Bool = { _ in true },
        onRetry: @Sendable (_ attempt: Int, _ error: any Error, _ delay: Duration) -> Void = { _, _, _ in },
        _ operation: @Sendable () async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await operation()
            } catch {
                if error is CancellationError || attempt >= maxAttempts || !isRetryable(error) { throw error }
                let cap = backoffCap(forRetry: attempt)
                let delay = cap * Double.random(in: 0...1)
                onRetry(attempt, error, delay)
                try await Task.sleep(for: delay)
                attempt += 1
            }
        }
    }
}
