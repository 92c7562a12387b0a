import ServiceLifecycle
import Synchronization

/// Relays a long-lived stream (an SSE subscription to a running task) until it ends or the
/// server begins to shut down. Without this, a client watching an unfinished task would hold
/// the HTTP server's graceful shutdown open until the task ended; with it, the stream ends at
/// once and the caller writes a final event telling the client to come back.
enum ShutdownAwareStreaming {
    /// Calls `body` with each element of `source` in order; returns true when a graceful
    /// shutdown ended the stream early, false when `source` ended by itself.
    static func forEach<Source: AsyncSequence & Sendable>(
        _ source: Source, _ body: (Source.Element) async throws -> Void
    ) async throws -> Bool where Source.Element: Sendable {
        let (relay, continuation) = AsyncThrowingStream<Source.Element, any Error>.makeStream()
        let stoppedByShutdown = Mutex(false)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await element in source { continuation.yield(element) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            defer { group.cancelAll() }
            try await withGracefulShutdownHandler {
                for try await element in relay { try await body(element) }
            } onGracefulShutdown: {
                stoppedByShutdown.withLock { $0 = true }
                continuation.finish()
            }
            return stoppedByShutdown.withLock { $0 }
        }
    }
}
