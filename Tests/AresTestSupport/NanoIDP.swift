import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real OpenID provider for tests: `nanoidp` (PyPI, pinned in scripts/install-interop-clients.sh)
/// started on a free loopback port with a configuration written at run time. Its clients use
/// the client-credentials grant and get their roles as scopes; its users carry a `roles` claim.
/// Client secrets are generated per run. Signing keys live in the run's own directory and can
/// be rotated (`rotateKeys`); with `maxPreviousKeys: 0` a rotation removes the old key from
/// the JWKS at once.
public final class NanoIDP: @unchecked Sendable {
    public struct Client: Sendable {
        public var id: String
        public var scopes: [String]
        public init(id: String, scopes: [String]) {
            self.id = id
            self.scopes = scopes
        }
    }

    public struct User: Sendable {
        public var name: String
        public var roles: [String]
        public init(name: String, roles: [String]) {
            self.name = name
            self.roles = roles
        }
    }

    /// A public client (no secret, `token_endpoint_auth_method: none`) that signs users in by
    /// authorization code + PKCE, to exactly these redirect URIs — a browser app such as the
    /// ares console.
    public struct PublicClient: Sendable {
        public var id: String
        public var redirectURIs: [String]
        public var scopes: [String]
        public init(id: String, redirectURIs: [String], scopes: [String] = ["openid"]) {
            self.id = id
            self.redirectURIs = redirectURIs
            self.scopes = scopes
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    public let issuer: String
    public let audience: String
    public let directory: URL
    private let process = Process()
    private let logFile: URL
    private var secrets: [String: String] = [:]
    private var passwords: [String: String] = [:]

    /// The virtual environment the interop clients are installed in.
    public static var venv: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".venv-interop")
    }

    /// `publicClients` sign users in with a browser; `requirePKCE` makes nanoidp refuse an
    /// authorization request without a code challenge; `corsOrigins` (nil: nanoidp's dev
    /// default, every origin) are the only origins a browser may call it from.
    public init(audience: String, clients: [Client], publicClients: [PublicClient] = [], users: [User] = [], scopes: [String],
                maxPreviousKeys: Int = 2, requirePKCE: Bool = false, corsOrigins: [String]? = nil) throws {
        let executable = Self.venv.appendingPathComponent("bin/nanoidp")
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw Failure("nanoidp is not installed at \(executable.path): run scripts/install-interop-clients.sh (it pins nanoidp==3.4.0)")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nanoidp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let port = try Self.freeLoopbackPort()
        issuer = "http://127.0.0.1:\(port)"
        self.audience = audience
        for client in clients {
            secrets[client.id] = UUID().uuidString + UUID().uuidString
            TestRunRecord.registerSecret(secrets[client.id] ?? "")
        }
        for user in users {
            let password = UUID().uuidString
            passwords[user.name] = password
            TestRunRecord.registerSecret(password)
        }
        func quoted(_ text: String) -> String { "\"\(text)\"" }
        var settings = """
            config_version: 1
            server:
              host: "127.0.0.1"
              port: \(port)
            oauth:
              issuer: \(quoted(issuer))
              audience: \(quoted(audience))
              token_expiry_minutes: 10
              require_pkce: \(requirePKCE)
              scopes_supported: [\(scopes.map(quoted).joined(separator: ", "))]
              clients:

            """
        for client in clients {
            settings += """
                    - client_id: \(quoted(client.id))
                      client_secret: \(quoted(secrets[client.id] ?? ""))
                      allowed_scopes: [\(client.scopes.map(quoted).joined(separator: ", "))]

                """
        }
        for client in publicClients {
            settings += """
                    - client_id: \(quoted(client.id))
                      token_endpoint_auth_method: "none"
                      redirect_uris: [\(client.redirectURIs.map(quoted).joined(separator: ", "))]
                      allowed_scopes: [\(client.scopes.map(quoted).joined(separator: ", "))]

                """
        }
        if let corsOrigins {
            settings += "cors_allowed_origins: [\(corsOrigins.map(quoted).joined(separator: ", "))]\n"
        }
        settings += """
            jwt:
              keys_dir: \(quoted(directory.appendingPathComponent("keys").path))
              max_previous_keys: \(maxPreviousKeys)

            """
        var usersYAML = "config_version: 1\nusers:\n"
        for user in users {
            usersYAML += "  \(user.name):\n    password: \(quoted(passwords[user.name] ?? UUID().uuidString))\n    roles: [\(user.roles.map(quoted).joined(separator: ", "))]\n"
        }
        if users.isEmpty { usersYAML += "  nobody:\n    password: \(quoted(UUID().uuidString))\n" }
        try settings.write(to: directory.appendingPathComponent("settings.yaml"), atomically: true, encoding: .utf8)
        try usersYAML.write(to: directory.appendingPathComponent("users.yaml"), atomically: true, encoding: .utf8)

        logFile = directory.appendingPathComponent("nanoidp.log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let output = try FileHandle(forWritingTo: logFile)
        process.executableURL = executable
        process.arguments = ["--config", directory.path, "--port", String(port)]
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if !process.isRunning { throw Failure("nanoidp exited with \(process.terminationStatus): \(log())") }
            if let (status, _) = try? Self.blockingGET(issuer + "/.well-known/openid-configuration"), status == 200 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        stop()
        throw Failure("nanoidp did not answer within 30 s: \(log())")
    }

    deinit { stop() }

    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// The password generated for `user` at start (registered as a secret of the run).
    public func password(of user: String) -> String? { passwords[user] }

    public func log() -> String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// An access token of the client-credentials grant (`scope` and `resource` as given).
    public func clientCredentialsToken(client: String, scope: String? = nil, resource: String? = nil) async throws -> String {
        guard let secret = secrets[client] else { throw Failure("no client \(client)") }
        var form = "grant_type=client_credentials"
        if let scope { form += "&scope=" + Self.formEncoded(scope) }
        if let resource { form += "&resource=" + Self.formEncoded(resource) }
        let basic = Data("\(client):\(secret)".utf8).base64EncodedString()
        let (status, body) = try await Self.request("POST", issuer + "/token", body: Data(form.utf8),
                                                    headers: ["Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic \(basic)"])
        return try Self.accessToken(status: status, body: body)
    }

    /// A user's access token from nanoidp's test API (it carries the user's `roles`); a
    /// negative lifetime gives a token that has already expired.
    public func userToken(_ user: String, expiresInMinutes minutes: Int = 10) async throws -> String {
        let body = try JSONSerialization.data(withJSONObject: ["exp_minutes": minutes])
        let (status, reply) = try await Self.request("POST", issuer + "/api/users/\(user)/token", body: body, headers: ["Content-Type": "application/json"])
        return try Self.accessToken(status: status, body: reply)
    }

    /// Rotates the signing key; returns the old and the new kid.
    @discardableResult
    public func rotateKeys() async throws -> (old: String, new: String) {
        let (status, body) = try await Self.request("POST", issuer + "/api/keys/rotate", body: Data(), headers: [:])
        guard status == 200, let object = try JSONSerialization.jsonObject(with: body) as? [String: Any],
              let old = object["old_kid"] as? String, let new = object["new_kid"] as? String else {
            throw Failure("key rotation failed: HTTP \(status) \(String(decoding: body, as: UTF8.self))")
        }
        return (old, new)
    }

    /// The kids the JWKS publishes now.
    public func publishedKeyIDs() async throws -> [String] {
        let (_, body) = try await Self.request("GET", issuer + "/.well-known/jwks.json", body: nil, headers: [:])
        let keys = (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["keys"] as? [[String: Any]] ?? []
        return keys.compactMap { $0["kid"] as? String }
    }

    /// The JWKS document as published (for tests that build a token the provider would not).
    public func jwks() async throws -> [[String: Any]] {
        let (_, body) = try await Self.request("GET", issuer + "/.well-known/jwks.json", body: nil, headers: [:])
        return (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["keys"] as? [[String: Any]] ?? []
    }

    // MARK: Plumbing

    private static func accessToken(status: Int, body: Data) throws -> String {
        guard status == 200, let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let token = object["access_token"] as? String else {
            throw Failure("nanoidp refused the token request: HTTP \(status) \(String(decoding: body, as: UTF8.self))")
        }
        TestRunRecord.registerSecret(token)
        return token
    }

    private static func formEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func request(_ method: String, _ url: String, body: Data?, headers: [String: String]) async throws -> (Int, Data) {
        guard let target = URL(string: url) else { throw Failure("bad URL \(url)") }
        var request = URLRequest(url: target)
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = 30
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    private static func blockingGET(_ url: String) throws -> (Int, Data) {
        guard let target = URL(string: url) else { throw Failure("bad URL \(url)") }
        var request = URLRequest(url: target)
        request.timeoutInterval = 2
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: (Int, Data)?
        URLSession.shared.dataTask(with: request) { data, response, _ in
            if let response = response as? HTTPURLResponse { outcome = (response.statusCode, data ?? Data()) }
            done.signal()
        }.resume()
        done.wait()
        guard let outcome else { throw Failure("no answer from \(url)") }
        return outcome
    }

    /// A port the system just had free on 127.0.0.1 (bound and released by Python).
    public static func freeLoopbackPort() throws -> Int {
        let python = Process()
        python.executableURL = venv.appendingPathComponent("bin/python")
        python.arguments = ["-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"]
        let out = Pipe()
        python.standardOutput = out
        try python.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        python.waitUntilExit()
        guard let port = Int(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw Failure("no free port")
        }
        return port
    }
}
