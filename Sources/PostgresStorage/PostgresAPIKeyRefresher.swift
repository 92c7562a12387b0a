import Logging
import Security
import ServiceLifecycle

/// Keeps a replica's `APIKeyAuthenticator` in step with the shared key table: every
/// `interval` it asks for the table's signature (one small aggregate) and reloads the keys when
/// it changed. A key revoked through any replica (or `ares keys revoke --database`) is thus
/// refused by every replica within `interval` plus one query, with no database read per
/// request. While the database is away the last copy stays in use: no key can be created or
/// revoked without the database, so the copy cannot miss a revocation that happened.
///
/// A new key works at once on every replica: before refusing a key (an id the copy does not
/// have, or a wrong secret), the authenticator waits for a round that starts after the request
/// arrived (`RefreshRoundSchedule`), so a key whose creation committed before the request is
/// accepted. Such rounds run at most once per `tick` whoever asks, so a flood of made-up keys
/// costs one signature query per tick per replica, and each refusal waits up to a tick.
public final class PostgresAPIKeyRefresher: Service {
    /// Revocation must reach every replica within about a second.
    public static let defaultInterval = Duration.milliseconds(500)
    /// How often refusals may cause an extra round: forty a second per replica at most, each one
    /// small aggregate; a refusal waits about half a tick plus that query (refusals that arrive
    /// together share a round).
    public static let defaultTick = Duration.milliseconds(25)

    private let store: PostgresAPIKeyStore
    private let authenticator: APIKeyAuthenticator
    private let schedule: RefreshRoundSchedule
    private let logger: Logger

    public init(store: PostgresAPIKeyStore, authenticator: APIKeyAuthenticator, interval: Duration = defaultInterval,
                tick: Duration = defaultTick, logger: Logger) {
        self.store = store
        self.authenticator = authenticator
        schedule = RefreshRoundSchedule(interval: interval, tick: tick)
        self.logger = logger
        // The schedule, not the refresher: the authenticator lives as long as the refresher, and
        // holding the schedule makes no cycle.
        authenticator.reloadBeforeRefusing(using: { [schedule] in await schedule.awaitFreshRound() })
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
        await cancelWhenGracefulShutdown { await self.refreshUntilCancelled() }
    }

    /// The refresh rounds, until the surrounding task is cancelled (for a caller that runs them
    /// as part of its own service, after it loaded the keys once with `refreshNow`).
    public func refreshUntilCancelled(loadedAt initial: String? = nil) async {
        var loaded = initial
        var failing = false
        await schedule.run {
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
            } catch {
                // A cancellation is the end of the rounds (the schedule stops at its next sleep).
                // Anything else is logged once per outage, not twice a second.
                guard !(error is CancellationError), !Task.isCancelled else { return }
                if !failing {
                    logger.warning("cannot read the API keys from the database; the last copy stays in use",
                                   metadata: ["error": .string("\(error)")])
                    failing = true
                }
            }
        }
    }
}
