import AsyncHTTPClient
import Foundation

/// The security attack suite of `ares validate`: requests the target must refuse, sent over
/// each binding it serves (A2A JSON-RPC, A2A HTTP+JSON when its card declares it, MCP when
/// /mcp answers). Credentials: missing, wrong, malformed, revoked, expired or unsigned tokens;
/// roles: a viewer submitting, a researcher calling admin methods; ownership: a second
/// researcher reading, canceling and following the first one's task; input: an oversized
/// body, deep nesting, malformed JSON, a wrong JSON-RPC version, huge ids and strings,
/// invalid UTF-8. A refusal passes; an acceptance is a `bypass`; an HTTP 5xx, a JSON-RPC
/// internal error or a dropped connection is a `serverError`.
///
/// With an admin credential the probe creates the keys it needs (ares/createKey) and revokes
/// them at the end; without one, the checks that need them are `notRun`, with the reason. No
/// credential ever appears in a check's detail.
public struct SecurityProbe: Sendable {
    public let target: ValidationTarget
    public let client: HTTPClient
    /// The size of the oversized body: larger than any body limit a deployment should have
    /// (ares's default is 1 MiB).
    public var oversizedBodyBytes = 8 << 20
    /// How deep the deeply nested JSON goes: far past any parser's sane limit (ares's is 32).
    public var nestingDepth = 100_000

    public init(target: ValidationTarget, client: HTTPClient) {
        self.target = target
        self.client = client
    }

    public func run() async -> ProbeReport {
        let http = ProbeHTTP(client: client, target: target)
        if let problem = await ProbeEndpoints.reachabilityProblem(http) {
            // Nothing can be judged against a target that does not answer: one check says why.
            return ProbeReport(probe: "security", checks: [
                ProbeCheck(id: "security.target-reachable", title: "The target answers", outcome: .notRun, detail: problem),
            ])
        }
        let endpoints = await ProbeEndpoints.discover(http)
        var attacks = SecurityAttacks(http: http, endpoints: endpoints, oversizedBodyBytes: oversizedBodyBytes, nestingDepth: nestingDepth)
        var checks: [ProbeCheck] = []
        checks += await attacks.credentialChecks()
        checks += await attacks.keyChecks()
        checks += await attacks.inputChecks()
        checks += await attacks.cleanUp()
        var secrets = attacks.secrets
        if let header = target.authorizationHeader { secrets.append(String(header.dropFirst("Bearer ".count))) }
        let redaction = ProbeRedaction(secrets: secrets)
        return ProbeReport(probe: "security", checks: checks.map(redaction.apply))
    }
}
