import Logging
import Security
import ServiceLifecycle

/// Keeps a replica's `APIKeyAuthenticator` in step with the shared key table: every
/// `interval` it asks for the table's signature (one small aggregate) and reloads the keys when
/// it changed. A key revoked through any replica (or `ares keys revoke --database`) is thus
/// refused by every replica within `interval` plus one query, with no database read per
/// request. While the database is away the last copy stays in use: no key can be created or
/// revoked without the database, so the copy cannot miss a revocation that happened.
public final class PostgresAPIKeyRefresher: Service {
    /// Revocation must reach every replica within about a second.
    public static let defaultInterval = Duration.milliseconds(500)

    private let store: PostgresAPIKeyStore
    private let authenticator: APIKeyAuthenticator
    private let interval: Duration
    private let logger: Logger

    public init(store: PostgresAPIKeyStore, authenticator: APIKeyAuthenticator, interval: Duration = defaultInterval, logger: Logger) {
        self.store = store
        self.authenticator = authenticator
        self.interval = interval
        self.logger = logger
    }

    /// Loads the keys now (start-up does this before the first request is authenticated);
    /// returns the signature they were loaded at.
    @discardableResult
    public func refreshNow() async throws -> String {
        // The signature first: a change that commits between the two reads is loaded by the
        // next round (its signature differs from the one returned here).
        let signature = try await store.signature()
        authenticator.replaceKeys(try await store.all())
        return signature
    }

    public func run() async throws {
        // A shutdown ends the rounds: the end of this service, not an error.
        try? await cancelWhenGracefulShutdown { await self.refreshUntilCancelled() }
    }

    /// The refresh rounds, until the surrounding task is cancelled (for a caller that runs them
    /// as part of its own service, after it loaded the keys once with `refreshNow`).
    public func refreshUntilCancelled(loadedAt initial: String? = nil) async {
        var loaded = initial
        var failing = false
        while !Task.isCancelled {
            do {
                let signature = try await store.signature()
                if signature != loaded {
                    authenticator.replaceKeys(try await store.all())
                    loaded = signature
                }
                if failing {
                    logger.info("API keys are read from the database again")
                    failing = false
                }
            } catch is CancellationError {
                return
            } catch {
                // Logged once per outage, not twice a second.
                if !failing {
                    logger.warning("cannot read the API keys from the database; the last copy stays in use",
                                   metadata: ["error": .string("\(error)")])
                    failing = true
                }
            }
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
        }
    }
}
