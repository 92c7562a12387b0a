import Synchronization

/// The identity provider's keys in memory, and the one place that decides when to fetch them
/// again: when they are older than their cache lifetime, or when a token names a key they do
/// not hold (rotation). Fetches are rate-limited to one per `minimumRefetchInterval`, and
/// concurrent callers that need a fetch share the one in flight, so a flood of tokens with
/// forged `kid`s costs the identity provider at most one request per interval.
///
/// Keys once loaded are kept when a refresh fails: tokens signed with them keep working while
/// the identity provider is down. While `OIDCKeyRefresher` runs (in the server's service
/// group) it refreshes the keys when they expire and requests never wait for that; without it
/// the first request after expiry refreshes them. A fetch for an unknown kid runs in the task
/// of the request that needed it; other requests wait for it or use the keys they have.
final class SigningKeyCache: Sendable {
    typealias Fetch = @Sendable (_ knownJWKSURI: String?) async throws(IdentityProviderError) -> IdentityProviderClient.FetchedKeys

    /// What a lookup found.
    enum Lookup: Sendable {
        case keys(VerificationKeys)
        /// Keys are loaded, but none under this kid, even after a refetch (or a refetch was not
        /// allowed yet).
        case unknownKeyID
        /// No keys were ever loaded; the text says why.
        case unavailable(String)
    }

    /// A snapshot for readiness and logs.
    struct Status: Sendable, Equatable {
        var loaded: Bool
        var keyCount: Int
        var fetches: Int
        var lastError: String?
    }

    private struct State {
        var keys: VerificationKeys?
        var expires: ContinuousClock.Instant
        var lastAttempt: ContinuousClock.Instant?
        var jwksURI: String?
        var fetching = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var fetches = 0
        var lastError: String?
        /// Whether `OIDCKeyRefresher` keeps the keys fresh (then requests use stale keys as they are).
        var refreshedInBackground = false
    }

    private enum Step {
        case use(VerificationKeys)
        case fetch(knownJWKSURI: String?)
        case wait
        case give(Lookup)
    }

    private let fetch: Fetch
    private let minimumRefetchInterval: Duration
    private let state: Mutex<State>

    init(minimumRefetchInterval: Duration, fetch: @escaping Fetch) {
        self.fetch = fetch
        self.minimumRefetchInterval = minimumRefetchInterval
        self.state = Mutex(State(expires: ContinuousClock.now))
    }

    var status: Status {
        state.withLock { Status(loaded: $0.keys != nil, keyCount: $0.keys?.keyCount ?? 0, fetches: $0.fetches, lastError: $0.lastError) }
    }

    /// The keys to verify a token signed under `kid` with; fetches when they are stale or lack it.
    func keys(forKeyID kid: String) async -> Lookup {
        var mayFetch = true
        while true {
            let now = ContinuousClock.now
            let step = state.withLock { state -> Step in
                let holdsKey = state.keys?.entries[kid] != nil
                if holdsKey, now < state.expires || state.refreshedInBackground, let keys = state.keys { return .use(keys) }
                let allowed = mayFetch && !state.fetching
                    && (state.lastAttempt.map { now - $0 >= minimumRefetchInterval } ?? true)
                if allowed {
                    state.fetching = true
                    state.lastAttempt = now
                    return .fetch(knownJWKSURI: state.jwksURI)
                }
                // Stale but holding the key: keep serving it; the refresh happens in another request.
                if holdsKey, let keys = state.keys { return .use(keys) }
                if state.fetching, mayFetch { return .wait }
                guard state.keys != nil else {
                    return .give(.unavailable(state.lastError ?? "its keys have not been loaded yet"))
                }
                return .give(.unknownKeyID)
            }
            switch step {
            case let .use(keys): return .keys(keys)
            case let .give(lookup): return lookup
            case let .fetch(knownJWKSURI): await performFetch(knownJWKSURI: knownJWKSURI)
            case .wait: await waitForFetch()
            }
            mayFetch = false
        }
    }

    /// Loads the keys now unless a fetch is under way (then waits for it): at server start, so
    /// the first token does not pay for discovery. Not rate-limited: it is not driven by requests.
    @discardableResult
    func load() async -> Status {
        let known: String?? = state.withLock { state in
            guard !state.fetching else { return .none }
            state.fetching = true
            state.lastAttempt = ContinuousClock.now
            return .some(state.jwksURI)
        }
        if let known { await performFetch(knownJWKSURI: known) } else { await waitForFetch() }
        return status
    }

    /// Marks whether a background refresher keeps the keys fresh.
    func setRefreshedInBackground(_ value: Bool) {
        state.withLock { $0.refreshedInBackground = value }
    }

    /// How long until the keys should be fetched again: when they expire, or (when none are
    /// loaded or the last fetch failed) one refetch interval after the last attempt.
    func timeUntilRefresh() -> Duration {
        let now = ContinuousClock.now
        return state.withLock { state in
            let due: ContinuousClock.Instant
            if state.keys == nil || state.lastError != nil {
                due = (state.lastAttempt ?? now) + minimumRefetchInterval
            } else {
                due = max(state.expires, (state.lastAttempt ?? now) + minimumRefetchInterval)
            }
            return due > now ? due - now : .zero
        }
    }

    private func performFetch(knownJWKSURI: String?) async {
        let started = ContinuousClock.now
        var outcome: Result<IdentityProviderClient.FetchedKeys, IdentityProviderError>
        do {
            outcome = .success(try await fetch(knownJWKSURI))
        } catch {
            outcome = .failure(error)
        }
        // A remembered JWKS location that fails is looked up again (discovery) the next time.
        if knownJWKSURI != nil, case .failure = outcome {
            do { outcome = .success(try await fetch(nil)) } catch { outcome = .failure(error) }
        }
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.fetches += 1
            switch outcome {
            case let .success(fetched):
                state.keys = fetched.keys
                state.expires = started + fetched.lifetime
                state.jwksURI = fetched.jwksURI
                state.lastError = nil
            case let .failure(error):
                state.lastError = error.description
                state.jwksURI = nil
            }
            state.fetching = false
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func waitForFetch() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let registered = state.withLock { state -> Bool in
                guard state.fetching else { return false }
                state.waiters.append(continuation)
                return true
            }
            if !registered { continuation.resume() }
        }
    }
}
