import ServiceLifecycle

/// Keeps the identity provider's keys fresh in the background: fetches them again when their
/// cache lifetime ends (or, after a failure, one refetch interval later), so no request waits
/// for a routine refresh or for a provider that is down. Runs in the server's service group and
/// stops at graceful shutdown.
public struct OIDCKeyRefresher: Service {
    let verifier: OIDCTokenVerifier

    public init(verifier: OIDCTokenVerifier) {
        self.verifier = verifier
    }

    public func run() async throws {
        verifier.cache.setRefreshedInBackground(true)
        defer { verifier.cache.setRefreshedInBackground(false) }
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let wait = verifier.cache.timeUntilRefresh()
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            } catch {
                return
            }
            await verifier.loadKeys()
        }
    }
}
