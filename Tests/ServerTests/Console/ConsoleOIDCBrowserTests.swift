import AresTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// OIDC sign-in of the web console (authorization code + PKCE) in a real browser: a real
/// nanoidp with a public client whose only redirect URI is the console's page and whose CORS
/// admits only the console's origin, a real `ares serve --oidc-issuer … --oidc-console-client-id …`,
/// and Browser/console_oidc_test.py driving headless Chromium through nanoidp's login form.
@Suite(.serialized) struct ConsoleOIDCBrowserTests {
    @Test(.timeLimit(.minutes(3))) func signingInWithOIDCWorksInARealBrowser() async throws {
        for tool in [ConsoleBrowserTests.chromedriver, ConsoleBrowserTests.chromium] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw ServerProcess.Failure("\(tool) is missing: install Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver; .ci/run does)")
        }
        _ = try InteropTests.python()
        let (data, _) = try ConsoleBrowserTests.makeKnowledgeBase()
        // The console's origin must be known before either process starts: nanoidp registers
        // its redirect URI and CORS origin, ares its issuer.
        let port = try NanoIDP.freeLoopbackPort()
        let console = "http://127.0.0.1:\(port)"
        let clientID = "ares-console"
        let user = "ada"
        let idp = try NanoIDP(audience: "ares-\(UUID().uuidString.prefix(8))", clients: [],
                              publicClients: [.init(id: clientID, redirectURIs: [console + "/"], scopes: ["openid"])],
                              users: [.init(name: user, roles: ["researcher"])], scopes: ["openid"],
                              requirePKCE: true, corsOrigins: [console])
        defer { idp.stop() }
        let server = try await ServerProcess(dataDirectory: data, arguments: [
            "--port", String(port), "--oidc-issuer", idp.issuer, "--oidc-audience", idp.audience, "--oidc-console-client-id", clientID,
        ])
        #expect(server.baseURL == console)

        // What the console is told, and what its CSP lets it reach.
        let (configuration, headers) = try await Self.get(console + "/console/config.json")
        let oidc = (try JSONSerialization.jsonObject(with: configuration) as? [String: Any])?["oidc"] as? [String: Any]
        #expect(oidc?["clientId"] as? String == clientID)
        #expect(oidc?["discoveryURL"] as? String == idp.issuer + "/.well-known/openid-configuration")
        #expect(Set(oidc?.keys.map { $0 } ?? []) == ["issuer", "discoveryURL", "clientId"], "config.json carries public facts only")
        let (_, pageHeaders) = try await Self.get(console + "/")
        let policy = pageHeaders["Content-Security-Policy"] ?? ""
        #expect(policy.contains("connect-src 'self' \(idp.issuer);"), "\(policy)")
        #expect(policy.contains("script-src 'self';"), "\(policy)")
        #expect(headers["Cache-Control"] == "no-store")

        let scratch = data.deletingLastPathComponent()
        let passwordFile = scratch.appendingPathComponent("password")
        try (idp.password(of: user) ?? "").write(to: passwordFile, atomically: true, encoding: .utf8)
        let secretsFile = scratch.appendingPathComponent("browser-secrets")
        let screenshots = ProcessInfo.processInfo.environment["ARES_CONSOLE_SCREENSHOTS"]
            ?? InteropTests.repository.appendingPathComponent(".build/console-screenshots").path
        let started = Date()
        let (status, output) = try InteropTests.run([
            InteropTests.repository.appendingPathComponent("Tests/ServerTests/Console/Browser/console_oidc_test.py").path,
            "--url", console, "--user", user, "--issuer", idp.issuer, "--password-file", passwordFile.path, "--secrets-file", secretsFile.path,
            "--screenshots", screenshots, "--chromedriver", ConsoleBrowserTests.chromedriver, "--chromium", ConsoleBrowserTests.chromium,
        ], timeout: 120)
        for token in ((try? String(contentsOf: secretsFile, encoding: .utf8)) ?? "").split(separator: "\n") where !token.isEmpty {
            TestRunRecord.registerSecret(String(token))
        }
        print(output)
        print("console OIDC browser test: \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        #expect(status == 0, "\(output)\nnanoidp log:\n\(idp.log().suffix(3000))")
        for check in ["oidc_token_kept_in_tab", "oidc_signed_in_as_user", "oidc_header_shows_who", "oidc_code_removed_from_address", "oidc_question_answered",
                      "oidc_sign_out_clears_token", "signed_out_header_has_no_sign_out", "oidc_expired_token_offers_sign_in", "oidc_refused_token_signs_out",
                      "oidc_state_mismatch_refused", "oidc_no_script_errors"] {
            #expect(output.contains("PASS \(check)"), "\(check) did not pass:\n\(output)")
        }
        #expect(output.contains("fail=0"), "\(output)")
        // The browser used PKCE S256 with the console's exact redirect URI, and nanoidp admitted
        // only the console's origin to its discovery document and token endpoint.
        let log = idp.log()
        #expect(log.contains("client_id=\(clientID)&redirect_uri=\(console)/&") && log.contains("code_challenge_method=S256"), "\(log.suffix(3000))")
        #expect(log.contains("CORS: restricted to ['\(console)']"), "\(log.prefix(3000))")
    }

    /// Without a console client the console is told nothing and may connect to its own origin only;
    /// a console client without an issuer is refused at start, naming the missing setting.
    @Test func withoutAConsoleClientTheConsoleOffersKeysOnly() async throws {
        let (data, _) = try ConsoleBrowserTests.makeKnowledgeBase()
        _ = try await ServerProcess.createKey(role: "viewer", in: data)
        let server = try await ServerProcess(dataDirectory: data)
        let (configuration, _) = try await Self.get(server.baseURL + "/console/config.json")
        #expect(String(decoding: configuration, as: UTF8.self) == "{}")
        let (_, headers) = try await Self.get(server.baseURL + "/")
        #expect(headers["Content-Security-Policy"]?.contains("connect-src 'self';") == true, "\(headers)")
        let refused = try await ServerProcess.ares(["serve", "--port", "0", "--data-dir", data.path, "--oidc-console-client-id", "ares-console"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("console client id needs the issuer") && refused.stderr.contains("--oidc-issuer"), "\(refused.stderr)")
    }

    static func get(_ url: String) async throws -> (Data, [String: String]) {
        guard let target = URL(string: url) else { throw ServerProcess.Failure("bad URL \(url)") }
        let (body, response) = try await URLSession.shared.data(from: target)
        var headers: [String: String] = [:]
        for name in ["Content-Security-Policy", "Cache-Control"] {
            headers[name] = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: name)
        }
        return (body, headers)
    }
}
