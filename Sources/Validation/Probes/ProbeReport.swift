/// One check a probe ran against the target: an attack that must be refused, or a MUST of a
/// protocol that must hold. The gates read only these, so a probe's verdict is always traceable
/// to the request that produced it.
public struct ProbeCheck: Sendable, Equatable, Codable {
    /// How a check ended. `bypass` and `serverError` are the security gate's failures;
    /// `violation` is a broken MUST (integration gate).
    public enum Outcome: String, Sendable, Equatable, Codable {
        case passed
        /// The target accepted what it must refuse (a revoked key, another principal's task ...).
        case bypass
        /// The target answered with a server error (HTTP 5xx, JSON-RPC -32603) or closed the connection.
        case serverError
        /// The target broke a MUST of the protocol it claims.
        case violation
        /// The check could not run (the target was unreachable, a prerequisite failed): it counts as failed.
        case notRun
    }

    /// A stable identifier, e.g. "security.revoked-key.jsonrpc" or "a2a.jsonrpc.unknown-method".
    public var id: String
    /// What was checked, in a sentence a reader of the report understands.
    public var title: String
    public var outcome: Outcome
    /// What was sent and what came back (status, error code), never a credential.
    public var detail: String

    public init(id: String, title: String, outcome: Outcome, detail: String) {
        self.id = id
        self.title = title
        self.outcome = outcome
        self.detail = detail
    }

    public var passed: Bool { outcome == .passed }
}

/// What one probe (the security attack suite, or the A2A/MCP conformance checks) found.
public struct ProbeReport: Sendable, Equatable, Codable {
    public var probe: String
    public var checks: [ProbeCheck]

    public init(probe: String, checks: [ProbeCheck]) {
        self.probe = probe
        self.checks = checks
    }

    public func count(_ outcome: ProbeCheck.Outcome) -> Int { checks.filter { $0.outcome == outcome }.count }
    public var failures: [ProbeCheck] { checks.filter { !$0.passed } }
    /// A probe that ran no check proves nothing: it does not pass.
    public var passed: Bool { !checks.isEmpty && failures.isEmpty }
}
