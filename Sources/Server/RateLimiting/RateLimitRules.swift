import Foundation
import Security

/// How many requests per second a principal may make, by its role and the request's class.
/// Written as comma-separated `SELECTOR=LIMIT` rules: SELECTOR is `CLASS`, `ROLE.CLASS`,
/// `ROLE.*` or `*` (CLASS `read` or `write`, ROLE `viewer`, `researcher` or `admin`); LIMIT is
/// `off` or `RATE/s` (or `/m` per minute) with an optional `:BURST`, the bucket's size (default
/// twice the per-second rate, at least 1). The most specific rule wins; `off` alone turns every
/// limit off. Example: `read=1000/s:2000,write=100/s,admin.*=off`.
public struct RateLimitRules: Sendable, Equatable {
    /// One token bucket's shape.
    public struct Limit: Sendable, Equatable {
        /// Tokens added per second.
        public var ratePerSecond: Double
        /// The bucket's size: how many requests may come at once after a quiet spell.
        public var burst: Double

        public init(ratePerSecond: Double, burst: Double) {
            self.ratePerSecond = ratePerSecond
            self.burst = burst
        }
    }

    /// The limit by rule specificity; a nil limit is an explicit `off`.
    private var rules: [Selector: Limit?]

    /// The rules `ares serve` starts with: generous for one client, a ceiling for a runaway one.
    public static let defaultDefinition = "read=1000/s:2000,write=100/s:200"
    /// No limits at all.
    public static let unlimited = RateLimitRules(rules: [:])

    private init(rules: [Selector: Limit?]) {
        self.rules = rules
    }

    /// Whether any request is limited.
    public var limitsAnything: Bool { rules.values.contains { $0 != nil } }

    /// The limit for a principal with `role` making a request of `requestClass`; nil: unlimited.
    public func limit(for role: Role, _ requestClass: RequestClass) -> Limit? {
        for selector in [Selector(role: role, requestClass: requestClass), Selector(role: role, requestClass: nil),
                         Selector(role: nil, requestClass: requestClass), Selector(role: nil, requestClass: nil)] {
            if let rule = rules[selector] { return rule }
        }
        return nil
    }

    public init(parsing definition: String) throws(RateLimitRulesError) {
        let trimmed = definition.trimmingCharacters(in: .whitespaces)
        if trimmed == "off" {
            self.init(rules: [:])
            return
        }
        var rules: [Selector: Limit?] = [:]
        for text in trimmed.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !text.isEmpty {
            let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw RateLimitRulesError("'\(text)' is not SELECTOR=LIMIT") }
            let selector = try Selector(parsing: parts[0].trimmingCharacters(in: .whitespaces), rule: text)
            let limit = try Self.limit(parsing: parts[1].trimmingCharacters(in: .whitespaces), rule: text)
            guard rules[selector] == nil else { throw RateLimitRulesError("'\(parts[0])' has two rules") }
            rules[selector] = .some(limit)
        }
        self.init(rules: rules)
    }

    private static func limit(parsing text: String, rule: String) throws(RateLimitRulesError) -> Limit? {
        if text == "off" { return nil }
        let rateAndBurst = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let rateText = rateAndBurst[0]
        let perMinute = rateText.hasSuffix("/m")
        guard perMinute || rateText.hasSuffix("/s"), let amount = Double(rateText.dropLast(2)), amount.isFinite,
              amount > 0, amount <= 1_000_000 else {
            throw RateLimitRulesError("'\(rateText)' in '\(rule)' is not a rate such as 100/s or 30/m (more than 0, at most 1000000)")
        }
        let ratePerSecond = perMinute ? amount / 60 : amount
        var burst = max(1, (ratePerSecond * 2).rounded(.up))
        if rateAndBurst.count == 2 {
            guard let given = Int(rateAndBurst[1]), (1...10_000_000).contains(given) else {
                throw RateLimitRulesError("the burst '\(rateAndBurst[1])' in '\(rule)' is not a whole number from 1 to 10000000")
            }
            burst = Double(given)
        }
        return Limit(ratePerSecond: ratePerSecond, burst: burst)
    }

    /// Which requests a rule is for; nil parts match any.
    private struct Selector: Hashable {
        var role: Role?
        var requestClass: RequestClass?

        init(role: Role?, requestClass: RequestClass?) {
            self.role = role
            self.requestClass = requestClass
        }

        init(parsing text: String, rule: String) throws(RateLimitRulesError) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            func requestClass(_ name: String) throws(RateLimitRulesError) -> RequestClass? {
                if name == "*" { return nil }
                guard let found = RequestClass(rawValue: name) else {
                    throw RateLimitRulesError("'\(name)' in '\(rule)' is not a request class (read, write or *)")
                }
                return found
            }
            switch parts.count {
            case 1:
                self.init(role: nil, requestClass: try requestClass(parts[0]))
            case 2:
                var role: Role?
                if parts[0] != "*" {
                    guard let found = Role(rawValue: parts[0]) else {
                        throw RateLimitRulesError("'\(parts[0])' in '\(rule)' is not a role (viewer, researcher, admin or *)")
                    }
                    role = found
                }
                self.init(role: role, requestClass: try requestClass(parts[1]))
            default:
                throw RateLimitRulesError("'\(text)' in '\(rule)' is not CLASS, ROLE.CLASS or *")
            }
        }
    }
}

/// A rate limit definition that cannot be read.
public struct RateLimitRulesError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
