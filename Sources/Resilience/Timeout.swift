import Foundation

/// The error thrown when an operation does not finish within its time limit.
public struct TimeoutError: Error, CustomStringConvertible, Sendable {
    public var limit: Duration
    public var operation: String
    public init(limit: Duration, operation: String) {
        self.limit = limit
        self.operation = operation
    }
    public var description: String { "\(operation) did not finish within \(limit)" }
}

/// Runs `operation`, cancelling it and throwing `TimeoutError` if it takes longer than `limit`.
public func withTimeout<T: Sendable>(
    _ limit: Duration,
    operation name: String,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimeoutError(limit: limit, operation: name)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw TimeoutError(limit: limit, operation: name) }
        return first
    }
}
