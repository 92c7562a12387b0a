import AresTestSupport
import Foundation
import Testing

/// Per-principal rate limits (issue 11) against a real `ares serve`: a principal past its
/// bucket gets a retryable refusal with Retry-After in every binding, while another principal
/// and the other request class are still served; bad rules are refused at start.
@Suite(.serialized)
struct RateLimitTests {
    static let dataDirectory = Result { try ServerProcess.makeDataDirectory() }

    @Test func aPrincipalPastItsLimitIsToldWhenToRetryAndOthersAreStillServed() async throws {
        let directory = try Self.dataDirectory.get()
        let viewer = try await ServerProcess.createKey(role: "viewer", in: directory, name: "busy viewer")
        let other = try await ServerProcess.createKey(role: "viewer", in: directory, name: "quiet viewer")
        let researcher = try await ServerProcess.createKey(role: "researcher", in: directory, name: "researcher")
        // Reads: a burst of 3, then one token every 100 minutes: none comes back while the test
        // runs, however slow a loaded machine makes each request (a CI run saw 10 s requests).
        // Researchers' writes unlimited. The refill itself is checked in PrincipalRateLimiterTests.
        let server = try await ServerProcess(dataDirectory: directory, arguments: ["--rate-limits", "read=0.01/m:3,researcher.write=off"])
        defer { server.stop() }

        var statuses: [Int] = []
        var limited: ServerProcess.Reply?
        for _ in 0..<6 {
            let reply = try await server.rpc("ListTasks", params: [:], key: viewer)
            statuses.append(reply.status)
            if reply.status == 429, limited == nil { limited = reply }
        }
        #expect(statuses == [200, 200, 200, 429, 429, 429], "the burst is served, then every read refused: \(statuses)")
        let refusal = try #require(limited, "six reads at once must pass a burst of 3: \(statuses)")
        #expect(value(try refusal.json(), "error", "code") as? Int == -32052)
        let retryAfter = try #require(refusal.header("Retry-After").flatMap { Int($0) }, "a refusal says when to retry")
        #expect(retryAfter == 3600, "the wait, capped at an hour")
        #expect((value(try refusal.json(), "error", "message") as? String)?.contains("0.01 read requests per minute") == true, "\(refusal.text)")

        // The same principal over REST and MCP: refused the same way.
        let rest = try await server.request("GET", "/rest/tasks", headers: ["Authorization": "Bearer \(viewer)", "A2A-Version": "1.0"])
        #expect(rest.status == 429, "\(rest.text)")
        #expect(rest.header("Retry-After") != nil)
        let mcpBody = try JSONSerialization.data(withJSONObject: ["jsonrpc": "2.0", "id": 1, "method": "tools/list"])
        let mcp = try await server.request("POST", "/mcp", body: mcpBody, headers: ["Authorization": "Bearer \(viewer)", "Content-Type": "application/json",
                                                                                   "Accept": "application/json, text/event-stream"])
        #expect(value(try mcp.json(), "error", "code") as? Int == -32052, "\(mcp.text)")

        // Another principal has its own bucket; a class without a limit is not counted.
        let quiet = try await server.rpc("ListTasks", params: [:], key: other)
        #expect(quiet.status == 200, "\(quiet.text)")
        for _ in 0..<5 {
            let submitted = try await server.rpc("SendMessage", params: ["message": ["messageId": UUID().uuidString, "role": "ROLE_USER",
                                                                                     "parts": [["text": "What is WAL?"]]],
                                                                         "configuration": ["returnImmediately": true]], key: researcher)
            #expect(submitted.status == 200, "researchers' writes are unlimited here: \(submitted.text)")
        }
    }

    @Test func rulesThatCannotBeReadAreRefusedAtStartWithTheReason() throws {
        let directory = try Self.dataDirectory.get()
        for (rules, reason) in [("read=fast", "not a rate"), ("reads=10/s", "not a request class"), ("root.read=1/s", "not a role"),
                                ("read=10/s:0", "burst"), ("read=1/s,read=2/s", "two rules")] {
            let outcome = try ServerProcess.ares(["config", "show", "--data-dir", directory.path, "--rate-limits", rules])
            #expect(outcome.status != 0, "rules '\(rules)' must be refused")
            #expect(outcome.stderr.contains("rateLimits") && outcome.stderr.contains(reason), "'\(rules)': \(outcome.stderr)")
        }
        let shown = try ServerProcess.ares(["config", "show", "--data-dir", directory.path, "--format", "json"])
        #expect(shown.stdout.contains("read=1000/s:2000,write=100/s:200"), "the default rules are shown: \(shown.stdout)")
    }

    @Test func theAgentCardDeclaresTheConfiguredWaysToAuthenticate() async throws {
        let directory = try Self.dataDirectory.get()
        // An issuer nobody answers at: the server still starts (API keys keep working) and the
        // card names the issuer's discovery document.
        let server = try await ServerProcess(dataDirectory: directory, arguments: ["--oidc-issuer", "http://127.0.0.1:9/realms/ares", "--oidc-audience", "ares"])
        defer { server.stop() }
        let card = try await server.request("GET", "/.well-known/agent-card.json")
        let schemes = try #require(value(try card.json(), "securitySchemes") as? [String: Any], "\(card.text)")
        #expect(value(schemes, "oidc", "openIdConnectSecurityScheme", "openIdConnectUrl") as? String
                == "http://127.0.0.1:9/realms/ares/.well-known/openid-configuration")
        #expect(value(schemes, "bearer", "httpAuthSecurityScheme", "scheme") as? String == "Bearer")
        #expect(schemes["mtls"] == nil, "no client certificates are configured")
        let requirements = try #require(value(try card.json(), "securityRequirements") as? [Any])
        #expect(requirements.count == schemes.count, "one requirement per scheme, any one is enough")
    }
}
