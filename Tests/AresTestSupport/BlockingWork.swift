import Foundation

/// Runs blocking work (waiting for a child process, reading its pipes to the end) on a thread
/// of its own and suspends the caller until it ends.
///
/// Why: Swift's cooperative pool has one thread per core, two on the CI machine. A test that
/// calls `Process.waitUntilExit()` from an async function holds one of them for as long as
/// the child runs, and in the parallel test run other tests' lease renewals and liveness
/// waits then starve. A dedicated thread keeps the pool free.
public enum BlockingWork {
    public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try work() })
            }
            thread.name = "ares-tests-blocking-work"
            thread.start()
        }
    }
}
