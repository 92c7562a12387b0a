import AresTestSupport
import Foundation
import Testing

/// ares's own outgoing calls over TLS (issue 11): model and embedding endpoints behind a
/// private CA are refused until `--ca-file` trusts it; an endpoint that demands a client
/// certificate gets `--model-client-cert`; an embedding key file rotated while `ares serve`
/// runs is used at the next request; no key ever appears in what ares prints.
@Suite(.serialized)
struct OutboundTLSTests {
    /// An HTTPS embeddings endpoint (Fixtures/tls_embeddings_endpoint.py) with its certificates
    /// in a folder of its own.
    struct Endpoint {
        let fixture: PythonFixture
        let directory: URL
        let port: Int
        var url: String { "https://127.0.0.1:\(port)/v1" }
        var caFile: String { directory.appendingPathComponent("ca.pem").path }
        var clientCertificate: String { directory.appendingPathComponent("client.pem").path }
        var clientKey: String { directory.appendingPathComponent("client.key").path }

        init(requireClientCertificate: Bool = false, acceptedKey: String) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-tls-endpoint-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try acceptedKey.write(to: directory.appendingPathComponent("accepted-key"), atomically: true, encoding: .utf8)
            fixture = try PythonFixture(script: "tls_embeddings_endpoint.py",
                                        arguments: [directory.path] + (requireClientCertificate ? ["--require-client-cert"] : []))
            guard let port = Int(try fixture.firstLine(timeout: 60)) else { throw ServerProcess.Failure("no port: \(fixture.output())") }
            self.port = port
        }

        func accept(_ key: String) throws {
            try key.write(to: directory.appendingPathComponent("accepted-key"), atomically: true, encoding: .utf8)
        }
    }

    static func secret() -> String {
        let secret = "sk-test-" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        TestRunRecord.registerSecret(secret)
        return secret
    }

    static func writeSecret(_ secret: String, to file: URL) throws {
        // Written to a new file and renamed over the old one, as secret managers do.
        let staging = file.appendingPathExtension("new")
        try secret.write(to: staging, atomically: false, encoding: .utf8)
        guard rename(staging.path, file.path) == 0 else { throw ServerProcess.Failure("cannot rename \(staging.path): errno \(errno)") }
    }

    static func embedderFlags(_ endpoint: Endpoint, keyFile: URL) -> [String] {
        ["--embedder", "openai", "--embedding-url", endpoint.url, "--embedding-model", "letters", "--embedding-key-file", keyFile.path]
    }

    @Test func aPrivateCAIsTrustedOnlyWhenConfiguredAndARotatedKeyFileIsUsedWithoutARestart() async throws {
        var secrets = [Self.secret()]
        let endpoint = try Endpoint(acceptedKey: secrets[0])
        defer { endpoint.fixture.stop() }
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-outbound-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        let keyFile = endpoint.directory.appendingPathComponent("embedding-key")
        try Self.writeSecret(secrets[0], to: keyFile)
        var printed = ""

        // The endpoint's certificate is signed by a CA the system does not trust: refused, with
        // a reason, and no crash.
        let untrusted = try await ServerProcess.ares(["ingest", ServerProcess.docsFolder.path, "--data-dir", dataDirectory.path]
                                               + Self.embedderFlags(endpoint, keyFile: keyFile))
        printed += untrusted.stdout + untrusted.stderr
        #expect(untrusted.status == 1, "ingest through an untrusted certificate: \(untrusted.stderr)")
        #expect(untrusted.stderr.lowercased().contains("certificate") || untrusted.stderr.lowercased().contains("tls"),
                "the error should say the certificate was not trusted: \(untrusted.stderr)")

        let trusted = try await ServerProcess.ares(["ingest", ServerProcess.docsFolder.path, "--data-dir", dataDirectory.path,
                                              "--ca-file", endpoint.caFile] + Self.embedderFlags(endpoint, keyFile: keyFile))
        printed += trusted.stdout + trusted.stderr
        #expect(trusted.status == 0, "ingest with --ca-file: \(trusted.stderr)")

        let admin = try await ServerProcess.createKey(role: "admin", in: dataDirectory)
        let server = try await ServerProcess(dataDirectory: dataDirectory, arguments: ["--ca-file", endpoint.caFile] + Self.embedderFlags(endpoint, keyFile: keyFile))
        defer { server.stop() }
        func vectorSearch() async throws -> ServerProcess.Reply {
            try await server.rpc("ares/search", params: ["query": "write-ahead log", "mode": "vector", "limit": 3], key: admin)
        }
        let first = try await vectorSearch()
        #expect(value(try first.json(), "result") != nil, "vector search through the TLS endpoint: \(first.text)")

        // Rotation: the endpoint and the key file move to a new key; the server, not restarted,
        // sends the new one (the endpoint refuses the old).
        secrets.append(Self.secret())
        try endpoint.accept(secrets[1])
        try Self.writeSecret(secrets[1], to: keyFile)
        let rotated = try await vectorSearch()
        #expect(value(try rotated.json(), "result") != nil, "vector search after the key file was rotated: \(rotated.text)")

        // The endpoint moves on without ares: the server's key is refused, and the error says so
        // without showing either key.
        secrets.append(Self.secret())
        try endpoint.accept(secrets[2])
        let refused = try await vectorSearch()
        printed += refused.text
        #expect(value(try refused.json(), "error") != nil, "a refused key must fail the vector search: \(refused.text)")
        #expect(server.process.isRunning)
        printed += server.log()
        for secret in secrets {
            #expect(!printed.contains(secret), "a model API key appeared in ares's output")
        }
    }

    @Test func anEndpointThatDemandsAClientCertificateGetsTheConfiguredOne() async throws {
        let key = Self.secret()
        let endpoint = try Endpoint(requireClientCertificate: true, acceptedKey: key)
        defer { endpoint.fixture.stop() }
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-outbound-mtls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        let keyFile = endpoint.directory.appendingPathComponent("embedding-key")
        try Self.writeSecret(key, to: keyFile)
        let common = ["ingest", ServerProcess.docsFolder.path, "--data-dir", dataDirectory.path, "--ca-file", endpoint.caFile]
            + Self.embedderFlags(endpoint, keyFile: keyFile)

        let withoutCertificate = try await ServerProcess.ares(common)
        #expect(withoutCertificate.status == 1, "the endpoint demands a client certificate: \(withoutCertificate.stderr)")

        let halfConfigured = try await ServerProcess.ares(common + ["--model-client-cert", endpoint.clientCertificate])
        #expect(halfConfigured.status != 0)
        #expect(halfConfigured.stderr.contains("modelClientKey"), "a certificate without its key names the missing setting: \(halfConfigured.stderr)")

        let withCertificate = try await ServerProcess.ares(common + ["--model-client-cert", endpoint.clientCertificate, "--model-client-key", endpoint.clientKey])
        #expect(withCertificate.status == 0, "ingest with the client certificate: \(withCertificate.stderr)")

        let unreadableKey = try await ServerProcess.ares(common + ["--model-client-cert", endpoint.clientCertificate, "--model-client-key", endpoint.caFile])
        #expect(unreadableKey.status != 0)
        #expect(unreadableKey.stderr.contains("cannot read the client key"), "a key file that holds no key: \(unreadableKey.stderr)")
        #expect(!unreadableKey.stderr.contains("BEGIN"), "file contents must not be echoed: \(unreadableKey.stderr)")
    }

    @Test func webhooksBehindAPrivateCAAreDeliveredOnlyWhenTheCAIsTrusted() async throws {
        let endpoint = try Endpoint(acceptedKey: Self.secret())
        defer { endpoint.fixture.stop() }
        let hits = endpoint.directory.appendingPathComponent("webhooks.log")
        func deliveries() -> Int {
            ((try? String(contentsOf: hits, encoding: .utf8)) ?? "").split(separator: "\n").count
        }
        func research(on server: ServerProcess, key: String) async throws {
            let params: [String: Any] = [
                "message": ["messageId": UUID().uuidString, "role": "ROLE_USER", "parts": [["text": "How are tasks resumed?"]]],
                "configuration": ["returnImmediately": false,
                                  "taskPushNotificationConfig": ["url": "https://127.0.0.1:\(endpoint.port)/webhook", "token": "t"]],
            ]
            let reply = try await server.rpc("SendMessage", params: params, key: key)
            #expect(value(try reply.json(), "result", "task", "status", "state") as? String == "TASK_STATE_COMPLETED", "\(reply.text)")
        }
        let data = try await ServerProcess.makeDataDirectory()
        let key = try await ServerProcess.createKey(role: "researcher", in: data)

        // Without --ca-file the receiver's certificate is not trusted: nothing is delivered,
        // and the log says why.
        let untrusting = try await ServerProcess(dataDirectory: data, arguments: ["--allow-private-webhooks"])
        try await research(on: untrusting, key: key)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, !untrusting.log().contains("push notification dropped") { try await Task.sleep(for: .milliseconds(200)) }
        #expect(untrusting.log().contains("push notification dropped"), "the undeliverable webhook must be reported: \(untrusting.log())")
        #expect(deliveries() == 0, "a webhook was delivered to a certificate ares does not trust")
        untrusting.stop()

        let trusting = try await ServerProcess(dataDirectory: data, arguments: ["--allow-private-webhooks", "--ca-file", endpoint.caFile])
        defer { trusting.stop() }
        try await research(on: trusting, key: key)
        let trustedDeadline = Date().addingTimeInterval(30)
        while Date() < trustedDeadline, deliveries() == 0 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(deliveries() > 0, "with --ca-file the webhook is delivered over HTTPS: \(trusting.log())")
    }
}
