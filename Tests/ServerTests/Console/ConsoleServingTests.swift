import AresTestSupport
import Foundation
import Testing

/// The web console's files as a real `ares serve` sends them, and the public methods the
/// console relies on (who am I, keys, documents, upload, chain verification) with their
/// permission checks.
@Suite(.serialized) struct ConsoleServingTests {
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @Test func theGeneratedAssetsMatchTheConsoleSources() throws {
        // ConsoleAssetFiles.swift is generated from Console/ by a script and committed: a
        // change to Console/ without running the script must not go unnoticed.
        let generated = try String(contentsOf: Self.repository.appendingPathComponent("Sources/Server/Console/ConsoleAssetFiles.swift"), encoding: .utf8)
        let sources = try FileManager.default.contentsOfDirectory(atPath: Self.repository.appendingPathComponent("Console").path)
            .filter { !$0.hasPrefix(".") }.sorted()
        #expect(sources.contains("index.html") && sources.contains("app.js"))
        for name in sources {
            let data = try Data(contentsOf: Self.repository.appendingPathComponent("Console/\(name)"))
            #expect(generated.contains("name: \"\(name)\""), "Console/\(name) is not in the generated file: run python3 scripts/generate-console-assets.py")
            #expect(generated.contains("base64: \"\(data.base64EncodedString())\""),
                    "Console/\(name) changed since the assets were generated: run python3 scripts/generate-console-assets.py")
        }
        #expect(generated.components(separatedBy: "ConsoleAssetFile(name:").count - 1 == sources.count, "the generated file has files Console/ no longer has")
    }

    @Test func theConsoleIsServedPubliclyWithItsSecurityHeadersAndRevalidates() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        _ = try await ServerProcess.createKey(role: "viewer", in: data)
        let server = try await ServerProcess(dataDirectory: data)
        let page = try await server.request("GET", "/")
        #expect(page.status == 200)
        #expect(page.header("Content-Type") == "text/html; charset=utf-8")
        #expect(page.text.contains(#"<script type="module" src="/console/app.js"></script>"#))
        let policy = page.header("Content-Security-Policy") ?? ""
        #expect(policy.contains("script-src 'self'") && policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"))
        #expect(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"))
        #expect(page.header("X-Content-Type-Options") == "nosniff")
        #expect(page.header("Set-Cookie") == nil)
        // No inline script anywhere: every script is a file of this origin.
        #expect(!page.text.contains("<script>") && !page.text.contains("onload="))

        let script = try await server.request("GET", "/console/app.js")
        #expect(script.status == 200)
        #expect(script.header("Content-Type") == "text/javascript; charset=utf-8")
        let etag = try #require(script.header("ETag"))
        let again = try await server.request("GET", "/console/app.js", headers: ["If-None-Match": etag])
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
        let missing = try await server.request("GET", "/console/../access.sqlite")
        #expect(missing.status == 404)
        let unknown = try await server.request("GET", "/console/nothing.js")
        #expect(unknown.status == 404)
        #expect(unknown.header("X-Content-Type-Options") == "nosniff")

        // Compressed when the client accepts it: the whole first load stays small.
        let connection = try RawHTTPConnection(port: server.port)
        try connection.send("GET /console/app.js HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip, br\r\n\r\n")
        let raw = connection.receive(timeout: 5, until: "\r\n\r\n").text.lowercased()
        #expect(raw.contains("content-encoding: gzip"), "\(raw.prefix(400))")

        // A page of another origin is refused even for public files (DNS rebinding).
        let foreign = try await server.request("GET", "/", headers: ["Origin": "http://attacker.example"])
        #expect(foreign.status == 403)
    }

    @Test func whoamiKeysAndDocumentsFollowTheRoles() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let admin = try await ServerProcess.createKey(role: "admin", in: data, name: "ops")
        let viewer = try await ServerProcess.createKey(role: "viewer", in: data, name: "reader")
        let server = try await ServerProcess(dataDirectory: data)

        let me = try await server.rpc("ares/whoami", key: viewer, version: nil).json()
        #expect(value(me, "result", "role") as? String == "viewer")
        #expect(value(me, "result", "name") as? String == "reader")
        #expect((value(me, "result", "permissions") as? [String]) == ["readTasks", "search"])
        #expect(value(try await server.rpc("ares/whoami", key: nil, version: nil).json(), "error", "code") as? Int == -32040)

        for method in ["ares/listKeys", "ares/createKey", "ares/revokeKey", "ares/uploadDocuments"] {
            let reply = try await server.rpc(method, params: ["role": "viewer", "id": "x", "documents": []], key: viewer, version: nil)
            #expect(reply.status == 403, "\(method) for a viewer")
            #expect(value(try reply.json(), "error", "code") as? Int == -32041, "\(method)")
        }

        let created = try await server.rpc("ares/createKey", params: ["role": "researcher", "name": "from the API"], key: admin, version: nil).json()
        let secret = try #require(value(created, "result", "secret") as? String)
        TestRunRecord.registerSecret(secret)
        let id = try #require(value(created, "result", "key", "id") as? String)
        #expect(secret.hasPrefix("ares_\(id)_"))
        let asNew = try await server.rpc("ares/whoami", key: secret, version: nil).json()
        #expect(value(asNew, "result", "role") as? String == "researcher")
        let listed = try await server.rpc("ares/listKeys", key: admin, version: nil)
        #expect(listed.text.contains(id) && !listed.text.contains(String(secret.dropFirst("ares_".count + 12 + 1))), "the list never holds secrets")
        #expect(value(try await server.rpc("ares/createKey", params: ["role": "root"], key: admin, version: nil).json(), "error", "code") as? Int == -32602)

        let adminID = try #require(value(try await server.rpc("ares/whoami", key: admin, version: nil).json(), "result", "id") as? String)
        let ownRevoke = try await server.rpc("ares/revokeKey", params: ["id": adminID], key: admin, version: nil).json()
        #expect(value(ownRevoke, "error", "code") as? Int == -32602, "an admin cannot lock itself out")
        let revoked = try await server.rpc("ares/revokeKey", params: ["id": id], key: admin, version: nil).json()
        #expect(value(revoked, "result", "revokedAt") is String)
        #expect(try await server.rpc("ares/whoami", key: secret, version: nil).status == 401)
        #expect(value(try await server.rpc("ares/revokeKey", params: ["id": "000000000000"], key: admin, version: nil).json(), "error", "code") as? Int == -32602)

        let documents = try await server.rpc("ares/listDocuments", params: ["limit": 500], key: viewer, version: nil).json()
        #expect(value(documents, "error", "code") as? Int == -32602)
        let page = try await server.rpc("ares/listDocuments", params: ["limit": 3], key: viewer, version: nil).json()
        let entries = value(page, "result", "documents") as? [[String: Any]] ?? []
        #expect(entries.count == 3)
        #expect((value(page, "result", "total") as? Int ?? 0) > 3)
        #expect(entries.allSatisfy { ($0["passages"] as? Int ?? 0) >= 1 && ($0["source"] as? String ?? "/").hasPrefix("docs/") && $0["ingestedAt"] is String })
    }

    @Test func uploadedDocumentsAreValidatedIngestedAndSearchable() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let admin = try await ServerProcess.createKey(role: "admin", in: data)
        let researcher = try await ServerProcess.createKey(role: "researcher", in: data)
        let server = try await ServerProcess(dataDirectory: data)
        for (name, problem) in [("../escape.md", "no folders"), (".hidden.md", "dot"), ("notes.exe", "must end in"), ("", "1 to 200")] {
            let reply = try await server.rpc("ares/uploadDocuments", params: ["documents": [["name": name, "text": "text"]]], key: admin, version: nil).json()
            #expect(value(reply, "error", "code") as? Int == -32602, "\(name)")
            #expect((value(reply, "error", "message") as? String ?? "").contains(problem), "\(name): \(reply)")
        }
        #expect(!FileManager.default.fileExists(atPath: data.deletingLastPathComponent().appendingPathComponent("escape.md").path))
        #expect(try await server.rpc("ares/uploadDocuments", params: ["documents": [["name": "a.md", "text": "x"]]], key: researcher, version: nil).status == 403)

        let text = "# Zebra care\n\nA zebra named Quillfeather eats hay at dawn."
        let summary = try await server.rpc("ares/uploadDocuments", params: ["documents": [["name": "zebra notes.md", "text": text]]], key: admin, version: nil).json()
        #expect(value(summary, "result", "added") as? Int == 1, "\(summary)")
        let found = try await server.rpc("ares/search", params: ["query": "Quillfeather", "mode": "keyword"], key: researcher, version: nil).json()
        #expect((value(found, "result", "results", "0", "text") as? String ?? "").contains("Quillfeather"))
        #expect(value(found, "result", "results", "0", "source") as? String == "zebra notes.md", "shown by its name, never a server path")
        let attributes = try FileManager.default.attributesOfItem(atPath: data.appendingPathComponent("uploads/zebra notes.md").path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test func aTaskChainVerifiesForItsOwnerOnly() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let alice = try await ServerProcess.createKey(role: "researcher", in: data, name: "alice")
        let bob = try await ServerProcess.createKey(role: "researcher", in: data, name: "bob")
        let server = try await ServerProcess(dataDirectory: data)
        let sent = try await server.rpc("SendMessage", params: ["message": ["messageId": "m", "role": "ROLE_USER", "parts": [["text": "How are tasks resumed?"]]]], key: alice).json()
        let id = try #require(value(sent, "result", "task", "id") as? String)
        let verified = try await server.rpc("ares/verifyTask", params: ["id": id], key: alice, version: nil).json()
        #expect(value(verified, "result", "intact") as? Bool == true, "\(verified)")
        #expect((value(verified, "result", "events") as? Int ?? 0) >= 6)
        #expect((value(verified, "result", "lastHash") as? String ?? "").count == 64)
        #expect(value(try await server.rpc("ares/verifyTask", params: ["id": id], key: bob, version: nil).json(), "error", "code") as? Int == -32001)
        #expect(value(try await server.rpc("ares/verifyTask", params: ["id": "task-none"], key: alice, version: nil).json(), "error", "code") as? Int == -32001)
    }
}
