import AsyncHTTPClient
import Foundation

/// The conformance checks of `ares validate`: the MUSTs of A2A 1.0 that the target's agent
/// card claims (the card itself, the JSON-RPC 2.0 envelope rules, the task methods and their
/// errors, streaming and push notifications when claimed, the HTTP+JSON binding when
/// declared) and MCP (the handshake, tools/list, a tools/call of the search tool). A broken
/// MUST is a `violation`; a server error or dropped connection where an answer was due is a
/// `serverError`; a check whose prerequisite failed is `notRun`, with the reason.
public struct ConformanceProbe: Sendable {
    public let target: ValidationTarget
    public let client: HTTPClient
    /// Where the push notification configs the probe creates point. They are set only on
    /// tasks that have ended, so nothing is ever sent there; the host is a public address
    /// literal because a server that refuses webhooks into its own network (as ares does)
    /// must accept it without a DNS lookup.
    public var webhookURL = "https://1.1.1.1/ares-validate-probe"

    public init(target: ValidationTarget, client: HTTPClient) {
        self.target = target
        self.client = client
    }

    public func run() async -> ProbeReport {
        let http = ProbeHTTP(client: client, target: target)
        if let problem = await ProbeEndpoints.reachabilityProblem(http) {
            return ProbeReport(probe: "conformance", checks: [
                ProbeCheck(id: "conformance.target-reachable", title: "The target answers", outcome: .notRun, detail: problem),
            ])
        }
        let endpoints = await ProbeEndpoints.discover(http)
        var checks = ConformanceChecks(http: http, endpoints: endpoints, webhookURL: webhookURL)
        var results = checks.cardChecks()
        results += await checks.envelopeChecks()
        results += await checks.taskChecks()
        results += await checks.streamingChecks()
        results += await checks.pushNotificationChecks()
        results += await checks.extendedCardChecks()
        results += await checks.restChecks()
        results += await checks.mcpChecks()
        // Every JSON-RPC answer seen above, held to the response-object rules.
        results.append(checks.responseObjectCheck())
        let redaction = ProbeRedaction(secrets: target.authorizationHeader.map { [String($0.dropFirst("Bearer ".count))] } ?? [])
        return ProbeReport(probe: "conformance", checks: results.map(redaction.apply))
    }
}
