import Foundation
import Resilience
import Synchronization

/// What a language model did for each agent that asked it: calls, tokens, latency, and how
/// often the agent fell back to its built-in counterpart and why. The client records the
/// calls (it sees the HTTP exchange); the agents record their fallbacks (only they know that a
/// well-formed reply was still unusable, e.g. a quote that occurs in no passage). Keyed by the
/// agent's `AnswerShape.name`, or "unnamed" for calls without a shape.
///
/// Bounded: per agent it keeps counters and the latencies of the last `latencyWindow` calls,
/// so a long-running server does not grow it.
public final class LanguageModelUsage: Sendable {
    public struct AgentUsage: Sendable, Equatable {
        /// Calls that returned a reply.
        public var calls = 0
        /// Calls that failed after their retries (HTTP error, transport, timeout, circuit open).
        public var failedCalls = 0
        /// Tokens as the endpoint reports them (`usage`); 0 when it reports none.
        public var promptTokens = 0
        public var completionTokens = 0
        /// Seconds per answered call (retries included), the most recent ones.
        public var latencies: [Double] = []
        /// Fallbacks to the built-in agent, by reason.
        public var fallbacks: [String: Int] = [:]

        public var fallbackCount: Int { fallbacks.values.reduce(0) { $0.saturatingAdd($1) } }

        public init() {}
    }

    public let latencyWindow: Int
    private let state = Mutex<[String: AgentUsage]>([:])

    public init(latencyWindow: Int = 10_000) {
        self.latencyWindow = max(1, latencyWindow)
    }

    func recordCall(agent: String, seconds: Double, promptTokens: Int, completionTokens: Int) {
        let window = latencyWindow
        state.withLock { usage in
            var entry = usage[agent] ?? AgentUsage()
            entry.calls = entry.calls.saturatingAdd(1)
            // Token counts come from the endpoint: a negative or huge value must not trap.
            entry.promptTokens = entry.promptTokens.saturatingAdd(max(0, promptTokens))
            entry.completionTokens = entry.completionTokens.saturatingAdd(max(0, completionTokens))
            if entry.latencies.count >= window { entry.latencies.removeFirst(entry.latencies.count - window + 1) }
            entry.latencies.append(seconds)
            usage[agent] = entry
        }
    }

    func recordFailedCall(agent: String) {
        state.withLock { usage in
            var entry = usage[agent] ?? AgentUsage()
            entry.failedCalls = entry.failedCalls.saturatingAdd(1)
            usage[agent] = entry
        }
    }

    /// An agent fell back to its built-in counterpart because of `error`.
    public func recordFallback(agent: String, error: any Error) {
        let reason = Self.reason(for: error)
        state.withLock { usage in
            var entry = usage[agent] ?? AgentUsage()
            entry.fallbacks[reason] = (entry.fallbacks[reason] ?? 0).saturatingAdd(1)
            usage[agent] = entry
        }
    }

    /// Everything recorded so far, by agent.
    public func snapshot() -> [String: AgentUsage] {
        state.withLock { $0 }
    }

    /// A short, stable name for why a call failed, so fallbacks group by cause: the HTTP
    /// status, the transport, a timeout, an open circuit, or the first clause of a malformed
    /// reply's description with its numbers replaced by N.
    static func reason(for error: any Error) -> String {
        switch error {
        case let error as LanguageModelError:
            switch error {
            case let .http(status, _): return "HTTP \(status)"
            case .transport: return "transport error"
            case let .malformedResponse(detail):
                let clause = detail.split(separator: ":", maxSplits: 1).first.map(String.init) ?? detail
                return String(clause.prefix(120)).replacing(/[0-9]+/, with: "N")
            }
        case is TimeoutError: return "timeout"
        case is CircuitOpenError: return "circuit open"
        default: return String(describing: type(of: error))
        }
    }
}

extension Int {
    /// `self + other`, or `Int.max` / `Int.min` where that would overflow.
    func saturatingAdd(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
