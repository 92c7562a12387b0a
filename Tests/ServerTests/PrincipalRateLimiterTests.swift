import Security
import Server
import Testing

struct PrincipalRateLimiterTests {
    let viewer = Principal(id: "v", name: "viewer", role: .viewer)
    let admin = Principal(id: "a", name: "admin", role: .admin)

    @Test func theMostSpecificRuleWins() throws {
        let rules = try RateLimitRules(parsing: "*=5/s, read=10/s:20, admin.*=off, viewer.write=30/m")
        #expect(rules.limit(for: .researcher, .read) == .init(ratePerSecond: 10, burst: 20))
        #expect(rules.limit(for: .researcher, .write) == .init(ratePerSecond: 5, burst: 10))
        #expect(rules.limit(for: .admin, .read) == nil)
        #expect(rules.limit(for: .viewer, .write) == .init(ratePerSecond: 0.5, burst: 1))
        #expect(try RateLimitRules(parsing: "off").limitsAnything == false)
        #expect(try RateLimitRules(parsing: RateLimitRules.defaultDefinition).limitsAnything)
    }

    @Test(arguments: ["read", "read=", "read=0/s", "read=-1/s", "read=1e400/s", "read=nan/s", "read=5", "read=5/h", "read=5/s:x",
                      "read=5/s:0", "read=5/s:99999999999999999999", "write.viewer=1/s", "a.b.c=1/s", "read=1/s,read=1/s"])
    func unreadableRulesAreRefused(_ definition: String) {
        #expect(throws: RateLimitRulesError.self) { try RateLimitRules(parsing: definition) }
    }

    @Test func aBucketServesItsBurstThenRefusesWithTheWaitUntilTheNextToken() throws {
        let limiter = PrincipalRateLimiter(rules: try RateLimitRules(parsing: "read=1/m:2"))
        #expect(limiter.admit(viewer, .read) == .allowed)
        #expect(limiter.admit(viewer, .read) == .allowed)
        guard case let .limited(retryAfter, _) = limiter.admit(viewer, .read) else {
            Issue.record("the third read within a minute must be refused")
            return
        }
        #expect((59...60).contains(retryAfter))
        #expect(limiter.admit(viewer, .write) == .allowed, "writes have no rule here")
        #expect(limiter.admit(admin, .read) == .allowed, "each principal has its own bucket")
    }

    @Test func aBucketRefillsAtItsRate() async throws {
        let limiter = PrincipalRateLimiter(rules: try RateLimitRules(parsing: "read=20/s:1"))
        #expect(limiter.admit(viewer, .read) == .allowed)
        #expect(limiter.admit(viewer, .read) != .allowed, "the burst of 1 is used up")
        // One token every 50 ms: after 100 ms (or more, on a loaded machine) one is back.
        try await Task.sleep(for: .milliseconds(100))
        #expect(limiter.admit(viewer, .read) == .allowed)
    }

    @Test func theNumberOfBucketsStaysBounded() throws {
        let limiter = PrincipalRateLimiter(rules: try RateLimitRules(parsing: "read=1/s"), maximumBuckets: 100)
        for index in 0..<1000 {
            _ = limiter.admit(Principal(id: "p\(index)", name: "p", role: .viewer), .read)
        }
        #expect(limiter.bucketCount <= 100)
    }
}
