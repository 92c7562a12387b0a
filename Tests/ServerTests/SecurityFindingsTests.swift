import AresTestSupport
import Foundation
import Testing

/// Regression tests for the findings of the security probe (issue 9), each over loopback
/// against the real `ares serve` binary, one test per finding.
@Suite(.serialized) struct SecurityFindingsTests {
    private func question(_ text: String, returnImmediately: Bool = true, extra: [String: Any] = [:]) -> [String: Any] {
        var configuration: [String: Any] = ["returnImmediately": returnImmediately]
        for (key, value) in extra { configuration[key] = value }
        return ["message": ["messageId": UUID().uuidString, "role": "ROLE_USER", "parts": [["text": text]]], "configuration": configuration]
    }

    private func mcp(_ server: ServerProcess, _ message: [String: Any], key: String?, contentType: String = "application/json") async throws -> ServerProcess.Reply {
        var headers = ["Content-Type": contentType, "Accept": "application/json"]
        if let key { headers["Authorization"] = "Bearer \(key)" }
        return try await server.request("POST", "/mcp", body: try JSONSerialization.data(withJSONObject: message), headers: headers)
    }

    // MARK: 1. No input stops the server

    @Test func outOfRangeNumbersAreRefusedAndTheServerStaysUp() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let viewer = try await ServerProcess.createKey(role: "viewer", in: data)
        let server = try await ServerProcess(dataDirectory: data)
        for limit in ["1e300", "-1e300", "1e19", "9223372036854775808", "2.5", "-1", "0"] {
            let body = #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"search_knowledge","arguments":{"query":"tasks","limit":\#(limit)}}}"#
            let reply = try await server.request("POST", "/mcp", body: Data(body.utf8),
                                                 headers: ["Content-Type": "application/json", "Authorization": "Bearer \(viewer)"])
            #expect(reply.status == 200, "limit \(limit): HTTP \(reply.status)")
            #expect(value(try reply.json(), "result", "isError") as? Bool == true, "limit \(limit) was not refused: \(reply.text)")
            #expect(server.process.isRunning, "limit \(limit) stopped the server")
        }
        for limit in ["1e300", "9223372036854775808", "-1e300"] {
            let body = #"{"jsonrpc":"2.0","id":1,"method":"ares/search","params":{"query":"tasks","limit":\#(limit)}}"#
            let reply = try await server.request("POST", "/a2a", body: Data(body.utf8),
                                                 headers: ["Content-Type": "application/json", "Authorization": "Bearer \(viewer)"])
            #expect(value(try reply.json(), "error", "code") as? Int == -32602, "ares/search limit \(limit): \(reply.text)")
        }
        let fine = try await mcp(server, ["jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                          "params": ["name": "search_knowledge", "arguments": ["query": "tasks", "limit": 2]]], key: viewer)
        #expect(value(try fine.json(), "result", "isError") as? Bool == false)
        #expect(try await server.request("GET", "/health/live").status == 200)
    }

    // MARK: 2 and 5. Webhooks: no redirects, a bounded read of the answer

    @Test func webhooksDoNotFollowRedirectsAndReadLittleOfTheAnswer() async throws {
        let receivers = try PythonFixture(script: "webhook_receivers.py")
        defer { receivers.stop() }
        let ports = try JSONSerialization.jsonObject(with: Data(try receivers.firstLine().utf8)) as? [String: Int] ?? [:]
        let redirect = try #require(ports["redirect"]), huge = try #require(ports["huge"])
        let data = try await ServerProcess.makeDataDirectory()
        let key = try await ServerProcess.createKey(role: "researcher", in: data)
        // Loopback webhooks must be allowed for the receivers to be reachable at all: the point
        // here is that a redirect is never followed, whatever the address policy.
        let server = try await ServerProcess(dataDirectory: data, arguments: ["--allow-private-webhooks"])
        for port in [redirect, huge] {
            let params = question("How are tasks resumed?", returnImmediately: false, extra: [
                "taskPushNotificationConfig": ["url": "http://127.0.0.1:\(port)/hook", "token": "t-\(port)"],
            ])
            let reply = try await server.rpc("SendMessage", params: params, key: key).json()
            #expect(value(reply, "result", "task", "status", "state") as? String == "TASK_STATE_COMPLETED")
        }
        let output = try receivers.waitForOutput(containing: "huge-closed", timeout: 30)
        #expect(output.contains("redirect-hit"), "the redirecting webhook was never called:\n\(output)")
        #expect(!output.contains("target-hit"), "a redirect was followed:\n\(output)")
        let written = output.split(separator: "\n").filter { $0.hasPrefix("huge-closed") }.compactMap { Int($0.split(separator: " ").last ?? "") }
        #expect(!written.isEmpty && written.allSatisfy { $0 < 50_000_000 }, "the server read \(written) bytes of 300 MB answers")
        #expect(server.residentMegabytes() ?? 0 < 300, "the server grew to \(server.residentMegabytes() ?? 0) MB")
        #expect(server.log().contains("redirects are not followed"))
    }

    // MARK: 3. DNS rebinding on a loopback server

    @Test func aLoopbackServerAnswersOnlyLoopbackHostsAndOrigins() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let server = try await ServerProcess(dataDirectory: data, arguments: ["--dev"])
        func status(host: String, origin: String? = nil) throws -> Int {
            let connection = try RawHTTPConnection(port: server.port)
            var head = "GET /health/live HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
            if let origin { head += "Origin: \(origin)\r\n" }
            try connection.send(head + "\r\n")
            let answer = connection.receive(timeout: 10, until: "\r\n\r\n").text
            return Int(answer.split(separator: " ").dropFirst().first ?? "") ?? -1
        }
        #expect(try status(host: "127.0.0.1:\(server.port)") == 200)
        #expect(try status(host: "localhost:\(server.port)") == 200)
        #expect(try status(host: "[::1]:\(server.port)") == 200)
        #expect(try status(host: "localhost:\(server.port)", origin: "http://127.0.0.1:\(server.port)") == 200)
        #expect(try status(host: "rebind.attacker.example:\(server.port)") == 403)
        #expect(try status(host: "127.0.0.1.attacker.example") == 403)
        #expect(try status(host: "localhost:\(server.port)", origin: "http://rebind.attacker.example") == 403)
        #expect(try status(host: "localhost:\(server.port)", origin: "null") == 403)
        // The same for the methods that act: a rebinding page cannot list or ingest.
        let connection = try RawHTTPConnection(port: server.port)
        let body = #"{"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{}}"#
        try connection.send("POST /a2a HTTP/1.1\r\nHost: rebind.attacker.example\r\nContent-Type: application/json\r\nA2A-Version: 1.0\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        let answer = connection.receive(timeout: 10).text
        #expect(answer.hasPrefix("HTTP/1.1 403"), "\(answer.prefix(200))")
        #expect(!answer.contains("tasks"))
    }

    // MARK: 4. Memory before authentication: headers first, deadlines, a connection limit

    @Test func anonymousRequestsAreAnsweredBeforeTheirBodyAndSlowClientsAreCutOff() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        _ = try await ServerProcess.createKey(role: "viewer", in: data)
        let server = try await ServerProcess(dataDirectory: data, arguments: ["--request-head-timeout", "3", "--request-body-timeout", "3"])
        // A 1 MiB body announced, none sent: the answer comes from the headers alone.
        for path in ["/a2a", "/mcp"] {
            let connection = try RawHTTPConnection(port: server.port)
            try connection.send("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n")
            let answer = connection.receive(timeout: 5, until: "\r\n\r\n").text
            #expect(answer.hasPrefix("HTTP/1.1 401"), "\(path): \(answer.prefix(120))")
        }
        // A head that never completes, and a body that never comes, are cut off.
        let slowHead = try RawHTTPConnection(port: server.port)
        try slowHead.send("POST /a2a HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        let started = Date()
        #expect(slowHead.receive(timeout: 10).closed, "a connection with an unfinished head stayed open")
        #expect(Date().timeIntervalSince(started) < 8)
        let key = try await ServerProcess.createKey(role: "viewer", in: data, name: "slow")
        let slowBody = try RawHTTPConnection(port: server.port)
        try slowBody.send("POST /a2a HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\"")
        #expect(slowBody.receive(timeout: 10).closed, "a connection with an unfinished body stayed open")
        #expect(server.process.isRunning)
        server.stop()
        // At most 8 connections: the ninth is served only when one of them closes. A server of
        // its own, with the default 30 s head deadline, so that no held connection is cut off
        // while the test runs on a loaded machine.
        let limited = try await ServerProcess(dataDirectory: data, arguments: ["--max-connections", "8"])
        defer { limited.stop() }
        var held = try (0..<8).map { _ in try RawHTTPConnection(port: limited.port) }
        try await Task.sleep(for: .milliseconds(300))
        let ninth = try RawHTTPConnection(port: limited.port)
        try ninth.send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(ninth.receive(timeout: 1, until: "\r\n\r\n").text.isEmpty, "a ninth connection was served while eight were open")
        held.removeLast()
        #expect(ninth.receive(timeout: 10, until: "\r\n\r\n").text.hasPrefix("HTTP/1.1 200"))
        held.removeAll()
        #expect(limited.process.isRunning)
    }

    // MARK: 6. The address policy, end to end

    @Test func webhookAddressesThatCannotBeJudgedOrAreNotPublicAreRefused() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let key = try await ServerProcess.createKey(role: "researcher", in: data)
        let server = try await ServerProcess(dataDirectory: data)
        let task = try #require(value(try await server.rpc("SendMessage", params: question("q", returnImmediately: false), key: key).json(), "result", "task", "id") as? String)
        let refused = [
            "http://localhost./h", "http://localhost.localdomain/h", "http://127.0.0.1./h", "http://no-such-host.invalid/h",
            "http://[64:ff9b::7f00:1]/h", "http://[::127.0.0.1]/h", "http://[2002:7f00:1::]/h", "http://[::ffff:0:7f00:1]/h",
            "http://[::ffff:127.0.0.1]/h", "http://[fe80::1]/h", "http://[fd00::1]/h", "http://[ff02::1]/h", "http://[2001:db8::1]/h",
            "http://255.255.255.255/h", "http://224.0.0.1/h", "http://198.18.0.1/h", "http://192.0.0.1/h", "http://240.0.0.1/h",
            "http://100.64.0.1/h", "http://0.0.0.0/h", "http://192.0.2.1/h", "http://user:pw@93.184.216.34/h",
        ]
        for url in refused {
            let reply = try await server.rpc("CreateTaskPushNotificationConfig", params: ["taskId": task, "url": url], key: key).json()
            #expect(value(reply, "error", "code") as? Int == -32602, "\(url) was accepted: \(reply)")
        }
        for url in ["http://93.184.216.34/h", "https://[2606:2800:220:1:248:1893:25c8:1946]/h", "http://[64:ff9b::5db8:d822]/h"] {
            let reply = try await server.rpc("CreateTaskPushNotificationConfig", params: ["taskId": task, "url": url], key: key).json()
            #expect(value(reply, "result", "url") as? String == url, "\(url) was refused: \(reply)")
        }
    }

    // MARK: 7. Private data files

    @Test func theDataDirectoryIsPrivateAndAnExistingOneIsTightened() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        func mode(_ path: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
        }
        // makeDataDirectory creates the folder 0755; ingest tightened it.
        #expect(try mode(data.path) == 0o700)
        for file in try FileManager.default.contentsOfDirectory(atPath: data.path) where !file.hasPrefix("serve-") {
            #expect(try mode(data.appendingPathComponent(file).path) & 0o077 == 0, "\(file) is readable by others")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: data.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: data.appendingPathComponent("knowledge.sqlite").path)
        let keys = try await ServerProcess.ares(["keys", "create", "--role", "viewer", "--data-dir", data.path])
        #expect(keys.status == 0)
        #expect(keys.stderr.contains("private to their owner"), "no notice: \(keys.stderr)")
        #expect(try mode(data.path) == 0o700)
        #expect(try mode(data.appendingPathComponent("knowledge.sqlite").path) == 0o600)
        #expect(try mode(data.appendingPathComponent("access.sqlite").path) == 0o600)
        let server = try await ServerProcess(dataDirectory: data)
        _ = server
        #expect(try mode(data.appendingPathComponent("tasks.sqlite").path) & 0o077 == 0)
    }

    /// The first key of a new deployment, made before anything else touched its data
    /// directory: the directory is made (private), not refused with "you don't have permission".
    @Test func aFirstKeyMakesItsDataDirectoryPrivate() throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("ares-first-key-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: parent) }
        let data = parent.appendingPathComponent("new/data")
        let created = try ServerProcess.ares(["keys", "create", "--role", "admin", "--name", "first", "--data-dir", data.path])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.hasPrefix("ares_"), "the key is printed")
        let mode = (try FileManager.default.attributesOfItem(atPath: data.path)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o700)
        let audit = (try FileManager.default.attributesOfItem(atPath: data.appendingPathComponent("audit.sqlite").path)[.posixPermissions] as? NSNumber)?.intValue
        #expect(audit.map { $0 & 0o077 } == 0, "the audit trail is readable by others")
        let listed = try ServerProcess.ares(["keys", "list", "--data-dir", data.path])
        #expect(listed.status == 0 && listed.stdout.contains("first"), "\(listed.stdout) \(listed.stderr)")
    }

    // MARK: 8. MCP refuses what a browser sends cross-site without asking

    @Test func mcpRefusesBodiesThatAreNotJSON() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let server = try await ServerProcess(dataDirectory: data, arguments: ["--dev"])
        let message: [String: Any] = ["jsonrpc": "2.0", "id": 1, "method": "tools/list"]
        for contentType in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
            let reply = try await mcp(server, message, key: nil, contentType: contentType)
            #expect(reply.status == 415, "\(contentType): HTTP \(reply.status)")
            #expect(value(try reply.json(), "result") == nil)
        }
        #expect(try await mcp(server, message, key: nil).status == 200)
    }

    // MARK: 9. SIGTERM ends open streams

    @Test func sigtermEndsOpenSubscriptionsWithAFinalEvent() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let key = try await ServerProcess.createKey(role: "admin", in: data)
        let server = try await ServerProcess(dataDirectory: data, arguments: ["--max-running-tasks", "1"])
        var last = ""
        // Enough that the last is still queued when it is subscribed to, with one worker. A task
        // takes several times longer on PostgreSQL (a commit per step), where 100 leave as wide
        // a margin as 300 here, and the restart below does not spend most of a minute on the
        // backlog before the last one runs.
        let count = try TestBackend.current() == .postgres ? 100 : 300
        for index in 0..<count {
            let reply = try await server.rpc("SendMessage", params: question("How are tasks resumed after a restart, take \(index)?"), key: key).json()
            last = value(reply, "result", "task", "id") as? String ?? last
        }
        let connection = try RawHTTPConnection(port: server.port)
        let body = #"{"jsonrpc":"2.0","id":9,"method":"SubscribeToTask","params":{"id":"\#(last)"}}"#
        try connection.send("POST /a2a HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nA2A-Version: 1.0\r\nAuthorization: Bearer \(key)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let first = connection.receive(timeout: 10, until: "\n\n")
        #expect(first.text.contains("text/event-stream"), "\(first.text.prefix(300))")
        let started = Date()
        let status = await server.terminate(timeout: 20)
        let rest = connection.receive(timeout: 5)
        #expect(status == 0, "ares serve did not exit cleanly within 20 s of SIGTERM")
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(rest.text.contains("-32050") && rest.text.contains("shutting down"), "no final event: \(rest.text.suffix(400))")
        // The task is kept and finishes after a restart.
        let restarted = try await ServerProcess(dataDirectory: data)
        var state: String?
        for _ in 0..<600 {
            state = value(try await restarted.rpc("GetTask", params: ["id": last], key: key).json(), "result", "status", "state") as? String
            if state == "TASK_STATE_COMPLETED" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(state == "TASK_STATE_COMPLETED")
    }

    // MARK: 10. A per-principal quota

    @Test func oneResearcherCannotFillTheQueueForEveryone() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let alice = try await ServerProcess.createKey(role: "researcher", in: data, name: "alice")
        let bob = try await ServerProcess.createKey(role: "researcher", in: data, name: "bob")
        let config = data.appendingPathComponent("quota.json")
        try Data(#"{"quotas": {"researcher": {"maxQueued": 3, "maxRunning": 1}}, "maxRunningTasks": 1}"#.utf8).write(to: config)
        let server = try await ServerProcess(dataDirectory: data, arguments: ["--config", config.path])
        // Forty at once: far more than one worker finishes in the meantime.
        let params = (0..<40).map { question("How are tasks resumed, take \($0)?") }
        let replies = try await withThrowingTaskGroup(of: ServerProcess.Reply.self) { group in
            for index in 0..<40 {
                let message = try JSONSerialization.data(withJSONObject: params[index])
                group.addTask {
                    let body = try JSONSerialization.jsonObject(with: message)
                    return try await server.rpc("SendMessage", params: body, key: alice)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let refusals = replies.filter { $0.status != 200 }
        let refusal = try #require(refusals.first, "alice was never refused")
        #expect(refusal.status == 429)
        #expect(refusal.header("Retry-After").flatMap(Int.init) ?? 0 >= 1)
        #expect(value(try refusal.json(), "error", "code") as? Int == -32051)
        #expect((value(try refusal.json(), "error", "message") as? String)?.contains("your role allows 3 waiting") == true)
        let bobs = try await server.rpc("SendMessage", params: question("Where does ares keep its data?"), key: bob)
        #expect(bobs.status == 200, "bob was refused because of alice: \(bobs.text)")
    }

    // MARK: 11. One answer for every bad key

    @Test func anUnknownKeyIdAndAWrongSecretGetTheSameAnswer() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let key = try await ServerProcess.createKey(role: "viewer", in: data)
        let server = try await ServerProcess(dataDirectory: data)
        let wrongSecret = String(key.prefix(18)) + String(repeating: "A", count: key.count - 18)
        let unknownID = "ares_0123456789ab_" + String(key.dropFirst(18))
        let first = try await server.rpc("GetTask", params: ["id": "task-x"], key: wrongSecret)
        let second = try await server.rpc("GetTask", params: ["id": "task-x"], key: unknownID)
        #expect(first.status == 401 && second.status == 401)
        #expect(value(try first.json(), "error", "message") as? String == value(try second.json(), "error", "message") as? String)
        #expect(!(first.text.contains(String(key.dropFirst(5).prefix(12)))))
    }

    // MARK: 12. JSON conformance and what is echoed

    @Test func onlyStrictJSONIsAcceptedAndNothingUnboundedIsEchoed() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let key = try await ServerProcess.createKey(role: "admin", in: data)
        let server = try await ServerProcess(dataDirectory: data)
        let headers = ["Content-Type": "application/json", "A2A-Version": "1.0", "Authorization": "Bearer \(key)"]
        func raw(_ bytes: Data, extra: [String: String] = [:]) async throws -> [String: Any] {
            try await server.request("POST", "/a2a", body: bytes, headers: headers.merging(extra) { _, new in new }).json()
        }
        let trailing = try await raw(Data(#"{"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{},}"#.utf8))
        #expect(value(trailing, "error", "code") as? Int == -32700)
        var invalidUTF8 = Data(#"{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"task-"#.utf8)
        invalidUTF8.append(contentsOf: [0xC3, 0x28])
        invalidUTF8.append(contentsOf: Data(#""}}"#.utf8))
        #expect(value(try await raw(invalidUTF8), "error", "code") as? Int == -32700)
        var rawNUL = Data(#"{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"task-"#.utf8)
        rawNUL.append(0)
        rawNUL.append(contentsOf: Data(#""}}"#.utf8))
        #expect(value(try await raw(rawNUL), "error", "code") as? Int == -32700)
        let null = try await raw(Data("null".utf8))
        #expect(value(null, "error", "code") as? Int == -32600)
        let nullMessage = value(null, "error", "message") as? String ?? ""
        #expect(!nullMessage.contains("Swift") && !nullMessage.contains("JSONRPCEnvelope") && !nullMessage.contains("Dictionary"), "\(nullMessage)")
        let longVersion = String(repeating: "9", count: 6000)
        let version = try await raw(Data(#"{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"task-x"}}"#.utf8), extra: ["A2A-Version": longVersion])
        #expect(value(version, "error", "code") as? Int == -32009)
        #expect((value(version, "error", "message") as? String ?? "").count < 300)

        let task = try #require(value(try await server.rpc("SendMessage", params: question("q", returnImmediately: false), key: key).json(), "result", "task", "id") as? String)
        for token in ["a\r\nX-Injected: 1", "nul\u{0}byte", "tab\tand\u{7F}"] {
            let reply = try await server.rpc("CreateTaskPushNotificationConfig", params: ["taskId": task, "url": "http://93.184.216.34/h", "token": token], key: key).json()
            #expect(value(reply, "error", "code") as? Int == -32602, "token \(token.debugDescription) was accepted")
        }

        // Sources are shown relative to the folder that was ingested, never as server paths.
        let found = try await server.rpc("ares/search", params: ["query": "tasks", "limit": 5], key: key, version: nil).json()
        let sources = (value(found, "result", "results") as? [[String: Any]] ?? []).compactMap { $0["source"] as? String }
        #expect(!sources.isEmpty)
        #expect(sources.allSatisfy { !$0.hasPrefix("/") && $0.hasPrefix("docs/") }, "\(sources)")
        let report = try await server.rpc("SendMessage", params: question("How are tasks resumed?", returnImmediately: false), key: key)
        #expect(!report.text.contains(ServerProcess.docsFolder.path), "a report shows the server's absolute paths")
    }
}

/// A Python script from Tests/ServerTests/Fixtures run as a child process, its output collected.
final class PythonFixture: @unchecked Sendable {
    private let process = Process()
    private let outputFile: URL

    init(script: String, arguments: [String] = []) throws {
        outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("ares-fixture-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(script)").path] + arguments
        let handle = try FileHandle(forWritingTo: outputFile)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    deinit { stop() }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    func output() -> String { (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }

    /// Sends `signal` to the fixture (what a signal means is the script's to say).
    func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    func firstLine(timeout: TimeInterval = 20) throws -> String {
        let text = try waitForOutput(containing: "\n", timeout: timeout)
        return String(text.split(separator: "\n").first ?? "")
    }

    func waitForOutput(containing marker: String, timeout: TimeInterval) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = output()
            if text.contains(marker) { return text }
            if !process.isRunning { throw ServerProcess.Failure("the fixture exited: \(text)") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw ServerProcess.Failure("'\(marker)' did not appear within \(timeout) s:\n\(output())")
    }
}
