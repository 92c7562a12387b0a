import ServiceLifecycle

/// The long-lived writer of the audit trail: wakes when events are queued, writes all of them
/// in as few transactions as the store's batch limit allows, then pauses briefly so that a
/// flood of identical refusals is coalesced into one record per pause (see `AuditQueue`)
/// rather than one per request. At graceful shutdown it stops pausing and writes what is
/// still queued before returning, so the requests served before the stop are on disk. Added
/// to the server's services after the HTTP server, so it stops after it.
public struct AuditWriter: Service {
    let trail: AuditTrail
    /// The longest a queued event waits before it is written (after a quiet period it is
    /// written at once): what a crash without a graceful stop can lose at most, plus one write.
    let pause: Duration

    public func run() async throws {
        for await _ in trail.queue.wakeups.cancelOnGracefulShutdown() {
            await trail.flush()
            // Ends early (without error) at graceful shutdown; the final flush follows.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
        await trail.flush()
    }
}
