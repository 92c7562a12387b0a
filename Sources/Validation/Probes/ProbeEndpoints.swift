import Foundation

/// Where the target's bindings are, read from its agent card: the JSON-RPC endpoint, the
/// HTTP+JSON (REST) base if it declares one, and MCP (ares serves it at /mcp; the agent card
/// has no word for MCP). Paths are relative to the target's base URL, so that a card that
/// names the public address of a deployment still leads the probe to the address it was given.
struct ProbeEndpoints: Sendable {
    var jsonRPC: String
    var rest: String?
    var mcp: String?
    /// The decoded card, when it could be fetched and read.
    var card: [String: Any]? { cardData.flatMap { ProbeJSON.parse($0) as? [String: Any] } }
    var cardData: Data?
    /// Why the card could not be used, if it could not.
    var cardProblem: String?

    static let agentCardPath = "/.well-known/agent-card.json"

    /// Reads the card and asks /mcp whether it is there (an `initialize` without credentials is
    /// refused by a server that has MCP and 404 by one that has not).
    static func discover(_ http: ProbeHTTP) async -> ProbeEndpoints {
        var endpoints = ProbeEndpoints(jsonRPC: "/a2a", rest: nil, mcp: "/mcp", cardData: nil, cardProblem: nil)
        switch await http.send(.GET, agentCardPath, credential: .none, headers: [("Accept", "application/json")]) {
        case let .failure(failure):
            endpoints.cardProblem = "GET \(agentCardPath) failed: \(failure)"
        case let .success(reply) where reply.status != 200:
            endpoints.cardProblem = "GET \(agentCardPath) answered \(reply.summary)"
        case let .success(reply):
            if let card = reply.object {
                endpoints.cardData = reply.body
                let interfaces = ProbeJSON.array(card, "supportedInterfaces")?.compactMap { $0 as? [String: Any] } ?? []
                for interface in interfaces {
                    guard let url = interface["url"] as? String, let binding = interface["protocolBinding"] as? String else { continue }
                    let path = relativePath(of: url, under: http.target)
                    switch binding.uppercased() {
                    case "JSONRPC": endpoints.jsonRPC = path
                    case "HTTP+JSON": endpoints.rest = path
                    default: break
                    }
                }
            } else {
                endpoints.cardProblem = "GET \(agentCardPath) did not answer a JSON object"
            }
        }
        if case let .success(reply) = await http.rpc("/mcp", method: "initialize", params: [:], credential: .none),
           reply.status == 404 || reply.status == 405 {
            endpoints.mcp = nil
        }
        return endpoints
    }

    /// Nil when the target answers HTTP at all (any status); otherwise why not. One bounded try
    /// (30 s: a loaded target still answers within it; a wrong address fails at once with
    /// "connection refused"), so an unreachable target fails the probe once, not per request.
    static func reachabilityProblem(_ http: ProbeHTTP) async -> String? {
        switch await http.send(.GET, agentCardPath, credential: .none, timeout: .seconds(30)) {
        case let .failure(failure): "\(http.url(agentCardPath)) did not answer: \(failure)"
        case .success: nil
        }
    }

    /// The part of `url` under the target's base URL, or its path when it names another host.
    static func relativePath(of url: String, under target: ValidationTarget) -> String {
        var base = target.baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        if url.hasPrefix(base + "/") { return String(url.dropFirst(base.count)) }
        let path = URL(string: url)?.path ?? ""
        return path.isEmpty ? "/" : path
    }

    /// `path` without a trailing slash, then `suffix` (REST paths are built from the base).
    static func join(_ path: String, _ suffix: String) -> String {
        var base = path
        while base.hasSuffix("/") { base.removeLast() }
        return base + suffix
    }
}
