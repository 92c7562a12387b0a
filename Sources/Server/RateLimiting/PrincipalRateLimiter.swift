import Security
import Synchronization

/// Token buckets per principal and request class (`RateLimitRules` gives their shape). A
/// request takes one token or is refused with the seconds until one is there. Buckets live in
/// memory; their number is bounded, so that many principals cannot grow it without end: when
/// full, buckets that have refilled (their principal has been quiet) are dropped first.
public final class PrincipalRateLimiter: Sendable {
    public enum Decision: Sendable, Equatable {
        case allowed
        /// Refused: the whole seconds until the next request would be allowed (at least 1).
        case limited(retryAfterSeconds: Int, limit: RateLimitRules.Limit)
    }

    private struct Key: Hashable {
        var principal: String
        var requestClass: RequestClass
    }

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    public let rules: RateLimitRules
    private let maximumBuckets: Int
    private let buckets = Mutex<[Key: Bucket]>([:])
    private let clock = ContinuousClock()

    public init(rules: RateLimitRules, maximumBuckets: Int = 100_000) {
        self.rules = rules
        self.maximumBuckets = max(1, maximumBuckets)
    }

    public func admit(_ principal: Principal, _ requestClass: RequestClass) -> Decision {
        guard let limit = rules.limit(for: principal.role, requestClass) else { return .allowed }
        let now = clock.now
        let key = Key(principal: principal.id, requestClass: requestClass)
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: limit.burst, updated: now)
            bucket.tokens = min(limit.burst, bucket.tokens + (now - bucket.updated).seconds * limit.ratePerSecond)
            bucket.updated = now
            let decision: Decision
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                decision = .allowed
            } else {
                let wait = (1 - bucket.tokens) / limit.ratePerSecond
                decision = .limited(retryAfterSeconds: Int(min(3600, max(1, wait.rounded(.up)))), limit: limit)
            }
            if buckets[key] == nil, buckets.count >= maximumBuckets { Self.evict(&buckets, now: now, rules: rules) }
            buckets[key] = bucket
            return decision
        }
    }

    /// Buckets held now (for tests and metrics).
    public var bucketCount: Int { buckets.withLock { $0.count } }

    /// Drops the buckets that are full again (nothing to remember); if every principal is
    /// busy, drops them all, which only forgives some tokens.
    private static func evict(_ buckets: inout [Key: Bucket], now: ContinuousClock.Instant, rules: RateLimitRules) {
        let before = buckets.count
        buckets = buckets.filter { key, bucket in
            // Roles are not kept per bucket: the slowest refill among the roles is assumed.
            let slowest = Role.allCases.compactMap { rules.limit(for: $0, key.requestClass)?.ratePerSecond }.min() ?? 1
            let largest = Role.allCases.compactMap { rules.limit(for: $0, key.requestClass)?.burst }.max() ?? 1
            return bucket.tokens + (now - bucket.updated).seconds * slowest < largest
        }
        if buckets.count == before { buckets.removeAll(keepingCapacity: true) }
    }

    /// Takes a token or throws the JSON-RPC error that says how long to wait.
    public func check(_ principal: Principal, _ requestClass: RequestClass) throws(JSONRPCError) {
        guard case let .limited(retryAfterSeconds, limit) = admit(principal, requestClass) else { return }
        throw JSONRPCError.rateLimited(
            retryAfterSeconds: retryAfterSeconds,
            detail: "\(principal.role.rawValue)s may make \(Self.describe(limit.ratePerSecond, requestClass)) (bursts of \(Int(limit.burst)))")
    }

    /// "100 read requests per second", or per minute when that is the rule's unit.
    private static func describe(_ ratePerSecond: Double, _ requestClass: RequestClass) -> String {
        let (rate, unit) = ratePerSecond < 1 ? (ratePerSecond * 60, "minute") : (ratePerSecond, "second")
        let amount = rate == rate.rounded() ? String(Int(rate)) : String(format: "%.2f", rate)
        return "\(amount) \(requestClass.rawValue) requests per \(unit)"
    }
}
