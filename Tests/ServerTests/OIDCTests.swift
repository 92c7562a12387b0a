import AresTestSupport
import Foundation
import Testing

/// `ares serve --oidc-issuer … --oidc-audience …` as an OAuth2 resource server, against a real
/// OpenID provider (nanoidp, started per test on a loopback port): machine clients take tokens
/// with the client-credentials grant, their roles travel as scopes. Every request goes over
/// loopback to the real server process.
@Suite(.serialized) struct OIDCTests {
    static let audience = "ares-e2e"
    static let scopes = ["ares.viewer", "ares.researcher", "ares.admin", "ares.other"]
    static let roleMap = "ares.viewer=viewer,ares.researcher=researcher,ares.admin=admin"

    static func provider(maxPreviousKeys: Int = 2) throws -> NanoIDP {
        try NanoIDP(audience: audience,
                    clients: [NanoIDP.Client(id: "viewer-bot", scopes: ["ares.viewer"]),
                              NanoIDP.Client(id: "researcher-bot", scopes: ["ares.researcher"]),
                              NanoIDP.Client(id: "second-researcher", scopes: ["ares.researcher"]),
                              NanoIDP.Client(id: "admin-bot", scopes: ["ares.admin"]),
                              NanoIDP.Client(id: "other-bot", scopes: ["ares.other"])],
                    scopes: scopes, maxPreviousKeys: maxPreviousKeys)
    }

    static func oidcArguments(_ idp: NanoIDP) -> [String] {
        ["--oidc-issuer", idp.issuer, "--oidc-audience", audience, "--oidc-role-claim", "scope", "--oidc-role-map", roleMap]
    }

    static func question(_ text: String) -> [String: Any] {
        ["message": ["messageId": UUID().uuidString, "role": "ROLE_USER", "parts": [["text": text]]],
         "configuration": ["returnImmediately": true]]
    }

    static func token(_ idp: NanoIDP, _ client: String, scope: String) async throws -> String {
        try await idp.clientCredentialsToken(client: client, scope: scope)
    }

    @Test func tokensOfEachRoleReachTheA2AMethodsTheirRoleAllowsAndTasksBelongToTheirPrincipal() async throws {
        let idp = try Self.provider()
        let data = try await ServerProcess.makeDataDirectory()
        // No API key exists: with OIDC configured the server starts anyway.
        let server = try await ServerProcess(dataDirectory: data, arguments: Self.oidcArguments(idp))
        let viewer = try await Self.token(idp, "viewer-bot", scope: "ares.viewer")
        let researcher = try await Self.token(idp, "researcher-bot", scope: "ares.researcher")
        let otherResearcher = try await Self.token(idp, "second-researcher", scope: "ares.researcher")
        let admin = try await Self.token(idp, "admin-bot", scope: "ares.admin")

        let sent = try await server.rpc("SendMessage", params: Self.question("How are tasks resumed?"), key: researcher)
        #expect(sent.status == 200, "\(sent.text)")
        let taskID = try #require(value(try sent.json(), "result", "task", "id") as? String, "\(sent.text)")

        let own = try await server.rpc("GetTask", params: ["id": taskID], key: researcher)
        #expect(value(try own.json(), "result", "id") as? String == taskID, "\(own.text)")
        // Another principal (a viewer, another researcher) does not see it; the admin does.
        #expect(value(try await server.rpc("GetTask", params: ["id": taskID], key: viewer).json(), "error", "code") as? Int == -32001)
        #expect(value(try await server.rpc("GetTask", params: ["id": taskID], key: otherResearcher).json(), "error", "code") as? Int == -32001)
        #expect(value(try await server.rpc("GetTask", params: ["id": taskID], key: admin).json(), "result", "id") as? String == taskID)
        // A viewer may not submit.
        let refused = try await server.rpc("SendMessage", params: Self.question("May I?"), key: viewer)
        #expect(refused.status == 403, "\(refused.text)")
        // A viewer's own reads work.
        let viewerList = try await server.rpc("ListTasks", params: [String: Any](), key: viewer)
        #expect(viewerList.status == 200, "\(viewerList.text)")
        // The log names the principal, never the token.
        let log = server.log()
        for token in [viewer, researcher, admin] { #expect(!log.contains(token), "a token reached the log") }
    }

    @Test func aWrongTokenIsRefusedWith401AndItsReason() async throws {
        let idp = try Self.provider()
        let data = try await ServerProcess.makeDataDirectory()
        let server = try await ServerProcess(dataDirectory: data, arguments: Self.oidcArguments(idp))
        let researcher = try await Self.token(idp, "researcher-bot", scope: "ares.researcher")
        let parts = researcher.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        func reencoded(_ segment: String, _ change: (inout [String: Any]) -> Void) throws -> String {
            var base64 = segment.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while base64.count % 4 != 0 { base64 += "=" }
            let decoded = try #require(Data(base64Encoded: base64))
            var object = try #require(try JSONSerialization.jsonObject(with: decoded) as? [String: Any])
            change(&object)
            return try JSONSerialization.data(withJSONObject: object).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let cases: [(String, String, String)] = [
            ("altered payload", [parts[0], try reencoded(parts[1]) { $0["scope"] = "ares.admin" }, parts[2]].joined(separator: "."), "signature does not verify"),
            ("alg none", [try reencoded(parts[0]) { $0["alg"] = "none" }, parts[1], ""].joined(separator: "."), "alg 'none'"),
            ("unknown kid", [try reencoded(parts[0]) { $0["kid"] = "not-a-key" }, parts[1], parts[2]].joined(separator: "."), "does not publish"),
            ("another audience", try await idp.clientCredentialsToken(client: "researcher-bot", scope: "ares.researcher", resource: "https://elsewhere.example"), "audience"),
            ("no ares role", try await Self.token(idp, "other-bot", scope: "ares.other"), "grants no ares role"),
        ]
        for (name, token, reason) in cases {
            let reply = try await server.rpc("GetTask", params: ["id": "x"], key: token)
            #expect(reply.status == 401, "\(name): \(reply.text)")
            let message = value(try reply.json(), "error", "message") as? String ?? ""
            #expect(message.contains(reason), "\(name): \(message)")
            #expect(!message.contains(token), "\(name): the reply repeats the token")
        }
        #expect(server.log().contains("authentication refused"))
    }

    @Test func aRotatedKeysTokensAreRefusedAndTheNewKeysAcceptedWithoutARestart() async throws {
        let idp = try Self.provider(maxPreviousKeys: 0)
        let data = try await ServerProcess.makeDataDirectory()
        let server = try await ServerProcess(dataDirectory: data, arguments: Self.oidcArguments(idp))
        let old = try await Self.token(idp, "viewer-bot", scope: "ares.viewer")
        #expect(try await server.rpc("ListTasks", params: [String: Any](), key: old).status == 200)
        try await idp.rotateKeys()
        let new = try await Self.token(idp, "viewer-bot", scope: "ares.viewer")
        // The server refetches on the unknown kid at most once per 10 s: within ~12 s the new
        // key's token is accepted, and from then on the removed key's token is refused.
        var accepted = false
        let deadline = Date().addingTimeInterval(25)
        while Date() < deadline {
            if try await server.rpc("ListTasks", params: [String: Any](), key: new).status == 200 { accepted = true; break }
            try await Task.sleep(for: .seconds(1))
        }
        #expect(accepted, "the new key's token was not accepted within 25 s: \(server.log().suffix(2000))")
        let stale = try await server.rpc("ListTasks", params: [String: Any](), key: old)
        #expect(stale.status == 401)
        #expect((value(try stale.json(), "error", "message") as? String ?? "").contains("does not publish"))
    }

    @Test func apiKeysKeepWorkingBesideTokens() async throws {
        let idp = try Self.provider()
        let data = try await ServerProcess.makeDataDirectory()
        let key = try await ServerProcess.createKey(role: "researcher", in: data)
        let server = try await ServerProcess(dataDirectory: data, arguments: Self.oidcArguments(idp))
        #expect(try await server.rpc("ListTasks", params: [String: Any](), key: key).status == 200)
        #expect(try await server.rpc("ListTasks", params: [String: Any](), key: try await Self.token(idp, "admin-bot", scope: "ares.admin")).status == 200)
        let wrongKey = try await server.rpc("ListTasks", params: [String: Any](), key: "ares_000000000000_" + String(repeating: "x", count: 43))
        #expect(wrongKey.status == 401)
        // Readiness shows the provider's keys were loaded at start.
        let ready = try await server.request("GET", "/health/ready")
        #expect((value(try ready.json(), "checks", "identityProvider") as? String ?? "").hasPrefix("ok: 1 signing keys"), "\(ready.text)")
    }

    @Test func aServerWithoutOIDCRefusesTokensAndAnIssuerWithoutAudienceDoesNotStart() async throws {
        let idp = try Self.provider()
        let data = try await ServerProcess.makeDataDirectory()
        let key = try await ServerProcess.createKey(role: "researcher", in: data)
        let server = try await ServerProcess(dataDirectory: data)
        #expect(try await server.rpc("ListTasks", params: [String: Any](), key: key).status == 200)
        let reply = try await server.rpc("ListTasks", params: [String: Any](), key: try await Self.token(idp, "admin-bot", scope: "ares.admin"))
        #expect(reply.status == 401)
        #expect((value(try reply.json(), "error", "message") as? String ?? "").contains("does not accept OIDC tokens"))

        let noAudience = try await ServerProcess.ares(["serve", "--port", "0", "--data-dir", data.path, "--oidc-issuer", idp.issuer])
        #expect(noAudience.status != 0)
        #expect(noAudience.stderr.contains("audience"), "\(noAudience.stderr)")
    }

    @Test func theA2ASDKClientAuthenticatesOverHTTPSWithABearerTokenFromTheProvider() async throws {
        let idp = try Self.provider()
        let data = try await ServerProcess.makeDataDirectory()
        // Over HTTPS, as an orchestrator inside a platform would call it.
        let pki = try TestPKI()
        try pki.makeServerCertificate("server", serial: "2001")
        let server = try await ServerProcess(dataDirectory: data, arguments: Self.oidcArguments(idp) + [
            "--allow-private-webhooks", "--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key"),
        ])
        let token = try await Self.token(idp, "researcher-bot", scope: "ares.researcher")
        let (status, output) = try InteropTests.run([InteropTests.script("a2a_client.py"), "--url", "https://127.0.0.1:\(server.port)",
                                                     "--ca-file", pki.path("ca.pem"), "--api-key", token,
                                                     "--auth-source", "static", "--expect-report"])
        #expect(status == 0, "\(output)")
        for check in ["send_blocking", "send_nonblocking+get_task", "send_streaming", "cancel_task"] {
            #expect(output.contains("PASS \(check)"), "\(check) did not pass:\n\(output)")
        }
        #expect(!server.log().contains(token), "the token reached the log")
    }
}
