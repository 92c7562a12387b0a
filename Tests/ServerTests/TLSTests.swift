import Foundation
import Testing

/// `ares serve` over HTTPS and mutual TLS, against the real binary over loopback, with
/// certificates made by `openssl` at run time (`TestPKI`) and the real curl, openssl, Python
/// `ssl` and PyPI A2A/MCP clients on the other end.
@Suite(.serialized) struct TLSTests {
    // MARK: Clients

    struct HTTPReply {
        var code: Int
        var body: String
        var stderr: String
        var exitStatus: Int32
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
                throw ServerProcess.Failure("not a JSON object: \(body)")
            }
            return object
        }
    }

    /// curl against the server, trusting the test CA; `certificate` names a client certificate of `pki`.
    static func curl(_ server: ServerProcess, _ path: String, pki: TestPKI, certificate: String? = nil, key: String? = nil,
                     method: String = "GET", body: String? = nil, host: String = "127.0.0.1", extra: [String] = []) throws -> HTTPReply {
        var arguments = ["-sS", "--max-time", "30", "--cacert", pki.path("ca.pem"), "-X", method, "-o", "-", "-w", "\n%{http_code}"]
        if let certificate { arguments += ["--cert", pki.path("\(certificate).pem"), "--key", pki.path("\(certificate).key")] }
        if let key { arguments += ["-H", "Authorization: Bearer \(key)"] }
        if body != nil { arguments += ["-H", "Content-Type: application/json", "-H", "A2A-Version: 1.0", "--data-binary", "@-"] }
        arguments += extra + ["https://\(host):\(server.port)\(path)"]
        let outcome = try Tool.run("curl", arguments, input: body)
        var lines = outcome.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let code = Int(lines.popLast() ?? "") ?? 0
        return HTTPReply(code: code, body: lines.joined(separator: "\n"), stderr: outcome.stderr, exitStatus: outcome.status)
    }

    static func rpc(_ server: ServerProcess, _ method: String, _ params: [String: Any], pki: TestPKI, certificate: String? = nil,
                    key: String? = nil) throws -> HTTPReply {
        let message: [String: Any] = ["jsonrpc": "2.0", "id": 1, "method": method, "params": params]
        let body = String(decoding: try JSONSerialization.data(withJSONObject: message), as: UTF8.self)
        return try curl(server, "/a2a", pki: pki, certificate: certificate, key: key, method: "POST", body: body)
    }

    static func question(_ text: String) -> [String: Any] {
        ["message": ["messageId": UUID().uuidString, "role": "ROLE_USER", "parts": [["text": text]]],
         "configuration": ["returnImmediately": true]]
    }

    /// The serial number (upper-case hex) of the certificate a new connection is served.
    static func servedSerial(_ server: ServerProcess, pki: TestPKI) throws -> String {
        let shown = try Tool.run("openssl", ["s_client", "-connect", "127.0.0.1:\(server.port)", "-CAfile", pki.path("ca.pem")], input: "")
        let certificate = try Tool.run("openssl", ["x509", "-noout", "-serial"], input: shown.stdout)
        return certificate.stdout.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
    }

    static func metric(_ name: String, in exposition: String) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(name + " ") || line.hasPrefix(name + "{") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }

    static func value(_ object: Any?, _ path: String...) -> Any? {
        var current = object
        for key in path { current = (current as? [String: Any])?[key] }
        return current
    }

    // MARK: HTTPS

    @Test func servesHTTPSWithTLS12AtLeastAndReportsTheCertificateExpiry() throws {
        let pki = try TestPKI()
        try pki.makeServerCertificate("server", serial: "1001")
        let data = try ServerProcess.makeDataDirectory()
        let key = try ServerProcess.createKey(role: "researcher", in: data)
        let server = try ServerProcess(dataDirectory: data, arguments: ["--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key")])
        #expect(server.log().contains("\"address\":\"https://127.0.0.1:\(server.port)\""), "\(server.log())")

        let live = try Self.curl(server, "/health/live", pki: pki)
        #expect(live.code == 200, "\(live)")
        // The certificate names localhost too, and the agent card gives the https URL.
        let card = try Self.curl(server, "/.well-known/agent-card.json", pki: pki, host: "localhost")
        #expect(card.code == 200)
        #expect(card.body.contains("https://127.0.0.1:\(server.port)"), "\(card.body)")
        // An API key works over HTTPS as over HTTP.
        let task = try Self.rpc(server, "SendMessage", Self.question("How are tasks resumed?"), pki: pki, key: key)
        #expect(Self.value(try task.json(), "result", "task", "id") is String, "\(task.body)")
        // Plain HTTP to the TLS port gets no HTTP answer.
        let plain = try Tool.run("curl", ["-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(server.port)/health/live"])
        #expect(plain.stdout == "000", "plain HTTP was answered: \(plain)")

        // TLS 1.3 is negotiated when offered; 1.2 is accepted; 1.1 is refused by the server (the
        // client is told to allow it, so the refusal is the server's protocol-version alert).
        let tls13 = try Tool.run("openssl", ["s_client", "-connect", "127.0.0.1:\(server.port)", "-CAfile", pki.path("ca.pem"), "-brief"], input: "")
        #expect((tls13.stdout + tls13.stderr).contains("Protocol version: TLSv1.3"), "\(tls13.stderr)")
        let tls12 = try Self.curl(server, "/health/live", pki: pki, extra: ["--tlsv1.2", "--tls-max", "1.2"])
        #expect(tls12.code == 200, "\(tls12)")
        let tls11 = try Tool.run("openssl", ["s_client", "-connect", "127.0.0.1:\(server.port)", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0",
                                             "-CAfile", pki.path("ca.pem")], input: "")
        #expect(tls11.status != 0, "a TLS 1.1 handshake succeeded: \(tls11.stdout)")
        #expect(tls11.stderr.contains("alert protocol version"), "TLS 1.1 was not refused by the server: \(tls11.stderr)")

        // The expiry of the serving certificate, as a gauge.
        let notAfter = try Tool.run("openssl", ["x509", "-in", pki.path("server.pem"), "-noout", "-enddate", "-dateopt", "iso_8601"])
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ssX"
        let expected = try #require(formatter.date(from: notAfter.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                .replacingOccurrences(of: "notAfter=", with: "")))
        let metrics = try Self.curl(server, "/metrics", pki: pki, key: key)
        let gauge = Self.metric("ares_tls_certificate_expiry_timestamp_seconds", in: metrics.body)
        #expect(gauge == expected.timeIntervalSince1970, "gauge \(String(describing: gauge)), certificate notAfter \(expected)")
        #expect(!server.log().contains("expires soon"), "a 30-day certificate was reported as expiring")
        // SIGTERM stops a TLS server as it stops a plain one (the certificate watcher included).
        #expect(server.terminate(timeout: 20) == 0, "\(server.log())")
    }

    @Test func readDeadlinesHoldOverTLS() throws {
        let pki = try TestPKI()
        try pki.makeServerCertificate("server", serial: "1001")
        let data = try ServerProcess.makeDataDirectory()
        _ = try ServerProcess.createKey(role: "viewer", in: data)
        let server = try ServerProcess(dataDirectory: data, arguments: [
            "--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key"), "--request-head-timeout", "2",
        ])
        // A connection that never starts the handshake is closed by the head deadline.
        let silent = try RawHTTPConnection(port: server.port)
        var started = Date()
        #expect(silent.receive(timeout: 10).closed, "a connection without a handshake stayed open")
        #expect(Date().timeIntervalSince(started) < 6)
        // So is one that completes the handshake and then sends half a head (s_client waits for the server to close).
        started = Date()
        let slowHead = try Tool.run("openssl", ["s_client", "-connect", "127.0.0.1:\(server.port)", "-CAfile", pki.path("ca.pem"), "-quiet", "-ign_eof"],
                                    input: "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n", timeout: 30)
        #expect(Date().timeIntervalSince(started) < 8, "an unfinished head over TLS was not cut off: \(slowHead.stderr)")
        #expect(try Self.curl(server, "/health/live", pki: pki).code == 200)
    }

    @Test func aCertificateThatExpiresWithinTwoWeeksIsLogged() throws {
        let pki = try TestPKI()
        try pki.makeServerCertificate("server", serial: "1001", days: 5)
        let data = try ServerProcess.makeDataDirectory()
        _ = try ServerProcess.createKey(role: "viewer", in: data)
        let server = try ServerProcess(dataDirectory: data, arguments: ["--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key")])
        let line = server.log().split(separator: "\n").first { $0.contains("expires soon") }
        #expect(line?.contains("\"level\":\"warning\"") == true, "\(server.log())")
        #expect(line?.contains("\"daysLeft\":4") == true || line?.contains("\"daysLeft\":5") == true, "\(line ?? "")")
    }

    // MARK: Mutual TLS

    @Test func requireRefusesClientsWithoutAValidCertificateAtTheHandshake() throws {
        let pki = try TestPKI()
        try pki.makeServerCertificate("server", serial: "1001")
        try pki.makeClientCertificate("researcher", commonName: "gateway", alternativeName: "URI:spiffe://orch/researcher")
        try pki.makeClientCertificate("foreign", commonName: "gateway", alternativeName: "URI:spiffe://orch/researcher", issuer: "foreign-ca")
        try pki.makeClientCertificate("expired", commonName: "gateway", alternativeName: "URI:spiffe://orch/researcher", expired: true)
        let data = try ServerProcess.makeDataDirectory()
        let key = try ServerProcess.createKey(role: "researcher", in: data)
        let server = try ServerProcess(dataDirectory: data, arguments: [
            "--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key"), "--tls-client-ca", pki.path("ca.pem"),
            "--tls-client-auth", "require", "--tls-client-role-map", "spiffe://orch/researcher=researcher",
        ])
        let valid = try Self.curl(server, "/health/live", pki: pki, certificate: "researcher")
        #expect(valid.code == 200, "\(valid)")
        // Refused at the handshake: no HTTP status at all, even with a valid API key.
        let none = try Self.curl(server, "/health/live", pki: pki, key: key)
        #expect(none.code == 0 && none.exitStatus != 0, "a client without a certificate got in: \(none)")
        #expect(none.stderr.contains("certificate required"), "\(none.stderr)")
        let foreign = try Self.curl(server, "/health/live", pki: pki, certificate: "foreign")
        #expect(foreign.code == 0 && foreign.exitStatus != 0, "a certificate of another CA got in: \(foreign)")
        #expect(foreign.stderr.contains("unknown ca"), "\(foreign.stderr)")
        let expired = try Self.curl(server, "/health/live", pki: pki, certificate: "expired")
        #expect(expired.code == 0 && expired.exitStatus != 0, "an expired certificate got in: \(expired)")
        #expect(expired.stderr.contains("certificate expired"), "\(expired.stderr)")

        let metrics = try Self.curl(server, "/metrics", pki: pki, certificate: "researcher")
        #expect(metrics.code == 200, "the researcher certificate could not read metrics: \(metrics)")
        #expect((Self.metric("ares_tls_handshake_failures_total", in: metrics.body) ?? 0) >= 3, "\(metrics.body)")
        #expect(server.process.isRunning)
    }

    @Test func mappedClientCertificatesActAsTheirRolesAndUnmappedOnesAsNobody() throws {
        let pki = try TestPKI()
        try pki.makeServerCertificate("server", serial: "1001")
        try pki.makeClientCertificate("researcher", commonName: "gateway", alternativeName: "URI:spiffe://orch/researcher,DNS:gateway.internal")
        try pki.makeClientCertificate("viewer", commonName: "dashboards", alternativeName: "DNS:viewer.internal")
        try pki.makeClientCertificate("admin", commonName: "ops-admin", alternativeName: nil)
        try pki.makeClientCertificate("stranger", commonName: "ops-admin", alternativeName: "URI:spiffe://orch/stranger")
        let data = try ServerProcess.makeDataDirectory()
        let key = try ServerProcess.createKey(role: "researcher", in: data)
        let server = try ServerProcess(dataDirectory: data, arguments: [
            "--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key"), "--tls-client-ca", pki.path("ca.pem"),
            // The DNS name and CN of the researcher's certificate are mapped too: the URI SAN wins.
            "--tls-client-role-map", "spiffe://orch/researcher=researcher,viewer.internal=viewer,ops-admin=admin,gateway.internal=admin",
        ])

        let refused = try Self.rpc(server, "SendMessage", Self.question("How are tasks resumed?"), pki: pki, certificate: "viewer")
        #expect(refused.code == 403, "a viewer certificate could submit: \(refused)")
        let sent = try Self.rpc(server, "SendMessage", Self.question("How are tasks resumed?"), pki: pki, certificate: "researcher")
        let taskID = try #require(Self.value(try sent.json(), "result", "task", "id") as? String, "\(sent)")
        let own = try Self.rpc(server, "GetTask", ["id": taskID], pki: pki, certificate: "researcher")
        #expect(Self.value(try own.json(), "result", "id") as? String == taskID, "\(own)")
        // Ownership follows the certificate: the viewer does not see it, the admin (by common name) does.
        let other = try Self.rpc(server, "GetTask", ["id": taskID], pki: pki, certificate: "viewer")
        #expect(Self.value(try other.json(), "error") != nil, "another principal saw the task: \(other)")
        let admin = try Self.rpc(server, "GetTask", ["id": taskID], pki: pki, certificate: "admin")
        #expect(Self.value(try admin.json(), "result", "id") as? String == taskID, "\(admin)")
        #expect(server.log().contains("\"principal\":\"mtls:spiffe://orch/researcher\""), "\(server.log())")

        // A verified certificate that is not mapped is nobody: it needs other credentials, which then decide.
        let stranger = try Self.rpc(server, "SendMessage", Self.question("How are tasks resumed?"), pki: pki, certificate: "stranger")
        #expect(stranger.code == 401, "an unmapped certificate was admitted: \(stranger)")
        let withKey = try Self.rpc(server, "SendMessage", Self.question("How are tasks resumed?"), pki: pki, certificate: "stranger", key: key)
        #expect(Self.value(try withKey.json(), "result", "task", "id") is String, "\(withKey)")
        // A bearer credential decides before the certificate: a wrong key is refused, not rescued.
        let wrongKey = try Self.rpc(server, "GetTask", ["id": taskID], pki: pki, certificate: "researcher", key: "ares_wrong")
        #expect(wrongKey.code == 401, "\(wrongKey)")
    }

    @Test func optionalAdmitsClientsWithoutACertificateToAuthenticateWithAKey() throws {
        let pki = try TestPKI()
        try pki.makeServerCertificate("server", serial: "1001")
        try pki.makeClientCertificate("researcher", commonName: "gateway", alternativeName: "URI:spiffe://orch/researcher")
        try pki.makeClientCertificate("foreign", commonName: "gateway", alternativeName: "URI:spiffe://orch/researcher", issuer: "foreign-ca")
        let data = try ServerProcess.makeDataDirectory()
        let key = try ServerProcess.createKey(role: "researcher", in: data)
        let server = try ServerProcess(dataDirectory: data, arguments: [
            "--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key"), "--tls-client-ca", pki.path("ca.pem"),
            "--tls-client-auth", "optional", "--tls-client-role-map", "spiffe://orch/researcher=researcher",
        ])
        let withKey = try Self.rpc(server, "SendMessage", Self.question("How are tasks resumed?"), pki: pki, key: key)
        #expect(Self.value(try withKey.json(), "result", "task", "id") is String, "\(withKey)")
        let nothing = try Self.rpc(server, "SendMessage", Self.question("How are tasks resumed?"), pki: pki)
        #expect(nothing.code == 401, "\(nothing)")
        let certificate = try Self.rpc(server, "SendMessage", Self.question("How are tasks resumed?"), pki: pki, certificate: "researcher")
        #expect(Self.value(try certificate.json(), "result", "task", "id") is String, "\(certificate)")
        // Optional is not "anything goes": a presented certificate must still verify.
        let foreign = try Self.curl(server, "/health/live", pki: pki, certificate: "foreign")
        #expect(foreign.code == 0 && foreign.exitStatus != 0, "a certificate of another CA got in: \(foreign)")
    }

    @Test func certificatesThatGrantRolesLetTheServerStartWithoutAPIKeys() throws {
        let pki = try TestPKI()
        try pki.makeServerCertificate("server", serial: "1001")
        try pki.makeClientCertificate("researcher", commonName: "gateway", alternativeName: "URI:spiffe://orch/researcher")
        let data = try ServerProcess.makeDataDirectory()
        let tls = ["--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key"), "--tls-client-ca", pki.path("ca.pem")]
        // Client certificates that grant nothing leave no one able to call: still refused.
        #expect(throws: ServerProcess.Failure.self) { try ServerProcess(dataDirectory: data, arguments: tls) }
        let server = try ServerProcess(dataDirectory: data, arguments: tls + ["--tls-client-role-map", "spiffe://orch/researcher=researcher"])
        let sent = try Self.rpc(server, "SendMessage", Self.question("How are tasks resumed?"), pki: pki, certificate: "researcher")
        #expect(Self.value(try sent.json(), "result", "task", "id") is String, "\(sent)")
    }

    // MARK: Rotation

    @Test func rotatedCertificateFilesReachNewConnectionsWithoutARestart() throws {
        let pki = try TestPKI()
        try pki.makeServerCertificate("first", serial: "1001")
        try pki.makeServerCertificate("second", serial: "2002")
        try pki.makeServerCertificate("third", serial: "3003")
        let (certificate, key) = (pki.path("serving.pem"), pki.path("serving.key"))
        func install(_ name: String, pause: TimeInterval = 0) throws {
            // As a rotation job would: each file replaced whole (a rename), the key a moment after the certificate.
            for (source, target) in [(pki.path("\(name).pem"), certificate), (pki.path("\(name).key"), key)] {
                try? FileManager.default.removeItem(atPath: target + ".new")
                try FileManager.default.copyItem(atPath: source, toPath: target + ".new")
                _ = rename(target + ".new", target)
                Thread.sleep(forTimeInterval: pause)
            }
        }
        try install("first")
        let data = try ServerProcess.makeDataDirectory()
        let apiKey = try ServerProcess.createKey(role: "viewer", in: data)
        let server = try ServerProcess(dataDirectory: data, arguments: ["--tls-cert", certificate, "--tls-key", key])
        let pid = server.process.processIdentifier
        #expect(try Self.servedSerial(server, pki: pki) == "1001")

        // A connection opened before the rotation...
        let marker = pki.path("second-request")
        let keepAlive = try PythonFixture(script: "tls_keepalive.py", arguments: [String(server.port), pki.path("ca.pem"), marker])
        defer { keepAlive.stop() }
        #expect(try keepAlive.waitForOutput(containing: "first ", timeout: 20).contains("first 200 1001"))

        try install("second", pause: 0.5)
        func waitForSerial(_ serial: String) throws -> Bool {
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                if try Self.servedSerial(server, pki: pki) == serial { return true }
                Thread.sleep(forTimeInterval: 0.25)
            }
            return false
        }
        #expect(try waitForSerial("2002"), "the new certificate was not served within 20 s: \(server.log())")
        // ...goes on with its certificate, on the same socket.
        _ = FileManager.default.createFile(atPath: marker, contents: Data())
        #expect(try keepAlive.waitForOutput(containing: "second ", timeout: 20).contains("second 200 1001 same-socket"), "\(keepAlive.output())")
        #expect(server.process.isRunning && server.process.processIdentifier == pid)
        // Writing the certificate before its key is a normal rotation, not an error.
        #expect(!server.log().contains("cannot be served"), "\(server.log())")

        // A key that does not belong to the certificate keeps the previous pair, with one error line
        // that never quotes the key.
        try FileManager.default.removeItem(atPath: key)
        try FileManager.default.copyItem(atPath: pki.path("third.key"), toPath: key)
        Thread.sleep(forTimeInterval: 7)
        #expect(try Self.servedSerial(server, pki: pki) == "2002")
        let errors = server.log().split(separator: "\n").filter { $0.contains("cannot be served") }
        #expect(errors.count == 1, "\(server.log())")
        #expect(errors.first?.contains("\"level\":\"error\"") == true)
        let keyText = try String(contentsOfFile: key, encoding: .utf8)
        let keyBody = keyText.split(separator: "\n").filter { !$0.hasPrefix("-----") }
        #expect(!server.log().contains("PRIVATE KEY") && keyBody.allSatisfy { !server.log().contains($0) }, "the log quotes the key")
        let metrics = try Self.curl(server, "/metrics", pki: pki, key: apiKey)
        #expect(Self.metric("ares_tls_reload_failures_total", in: metrics.body) == 1, "\(metrics.body)")

        // The matching certificate arrives: served from then on.
        try install("third")
        #expect(try waitForSerial("3003"), "\(server.log())")
        #expect(server.process.isRunning && server.process.processIdentifier == pid)
    }

    // MARK: Start-up errors

    @Test func unusableTLSFilesStopTheStartWithOneLineThatNeverQuotesTheKey() throws {
        let pki = try TestPKI()
        try pki.makeServerCertificate("server", serial: "1001")
        try pki.makeServerCertificate("other", serial: "2002")
        let garbage = pki.path("garbage.pem")
        try "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        let data = try ServerProcess.makeDataDirectory()
        _ = try ServerProcess.createKey(role: "viewer", in: data)
        let cases: [(arguments: [String], expected: String)] = [
            (["--tls-cert", pki.path("missing.pem"), "--tls-key", pki.path("server.key")], "--tls-cert \(pki.path("missing.pem")): no such file"),
            (["--tls-cert", garbage, "--tls-key", pki.path("server.key")], "--tls-cert \(garbage): not a PEM certificate chain"),
            (["--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.pem")], "--tls-key \(pki.path("server.pem")): holds no unencrypted PEM private key"),
            (["--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("other.key")], "--tls-key \(pki.path("other.key")) does not belong to the certificate"),
            (["--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key"), "--tls-client-ca", garbage], "--tls-client-ca \(garbage): not a PEM certificate bundle"),
        ]
        let keyLines = try String(contentsOfFile: pki.path("other.key"), encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("-----") }
        for (arguments, expected) in cases {
            do {
                let server = try ServerProcess(dataDirectory: data, arguments: arguments)
                server.stop()
                Issue.record("ares serve started with \(arguments)")
            } catch let failure as ServerProcess.Failure {
                #expect(failure.description.contains("exited with 1"), "\(failure)")
                #expect(failure.description.contains(expected), "expected '\(expected)' in: \(failure)")
                #expect(!failure.description.contains("PRIVATE KEY") && keyLines.allSatisfy { !failure.description.contains($0) })
                #expect(!failure.description.contains("\"msg\":\"listening\""))
            }
        }
    }

    // MARK: Third-party clients

    @Test func theA2ASDKClientWorksOverHTTPSWithAClientCertificate() throws {
        let pki = try TestPKI()
        try pki.makeServerCertificate("server", serial: "1001")
        try pki.makeClientCertificate("researcher", commonName: "gateway", alternativeName: "URI:spiffe://orch/researcher")
        let data = try ServerProcess.makeDataDirectory()
        _ = try ServerProcess.createKey(role: "viewer", in: data)
        let server = try ServerProcess(dataDirectory: data, arguments: [
            "--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key"), "--tls-client-ca", pki.path("ca.pem"),
            "--tls-client-role-map", "spiffe://orch/researcher=researcher", "--allow-private-webhooks",
        ])
        // No API key: the certificate is the only credential.
        let (status, output) = try InteropTests.run([
            InteropTests.script("a2a_client.py"), "--url", "https://127.0.0.1:\(server.port)", "--expect-report",
            "--ca-file", pki.path("ca.pem"), "--client-cert", pki.path("researcher.pem"), "--client-key", pki.path("researcher.key"),
        ])
        #expect(status == 0, "\(output)")
        for check in ["send_blocking", "send_nonblocking+get_task", "send_streaming", "cancel_task", "push_inline", "push_config_delivery"] {
            #expect(output.contains("PASS \(check)"), "\(check) did not pass:\n\(output)")
        }
        #expect(output.contains("SUMMARY pass=13 fail=0"), "\(output)")
        #expect(server.log().contains("\"principal\":\"mtls:spiffe://orch/researcher\""))
    }

    @Test func theMCPSDKClientResearchesOverHTTPSWithAClientCertificate() throws {
        let pki = try TestPKI()
        try pki.makeServerCertificate("server", serial: "1001")
        try pki.makeClientCertificate("researcher", commonName: "gateway", alternativeName: "URI:spiffe://orch/researcher")
        let data = try ServerProcess.makeDataDirectory()
        _ = try ServerProcess.createKey(role: "viewer", in: data)
        let server = try ServerProcess(dataDirectory: data, arguments: [
            "--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key"), "--tls-client-ca", pki.path("ca.pem"),
            "--tls-client-role-map", "spiffe://orch/researcher=researcher",
        ])
        let (status, output) = try InteropTests.run([
            InteropTests.script("mcp_client.py"), "--url", "https://127.0.0.1:\(server.port)/mcp", "--expect-citations",
            "--ca-file", pki.path("ca.pem"), "--client-cert", pki.path("researcher.pem"), "--client-key", pki.path("researcher.key"),
        ])
        #expect(status == 0, "\(output)")
        #expect(output.contains("PASS: research text contains citation marker [n]"), "\(output)")
        #expect(server.log().contains("\"principal\":\"mtls:spiffe://orch/researcher\""))
        // Without the certificate the handshake is refused: the SDK never reaches the server.
        let (refusedStatus, refusedOutput) = try InteropTests.run([
            InteropTests.script("mcp_client.py"), "--url", "https://127.0.0.1:\(server.port)/mcp", "--ca-file", pki.path("ca.pem"),
        ], timeout: 60)
        #expect(refusedStatus != 0, "\(refusedOutput)")
    }
}
