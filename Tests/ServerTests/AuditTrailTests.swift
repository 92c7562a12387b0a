import AresTestSupport
import Foundation
import Testing

/// The audit trail end to end: a real `ares serve`, real `ares keys` and `ares audit`
/// processes on one data directory, and the sqlite3 command line to tamper with the file.
@Suite(.serialized) struct AuditTrailEndToEndTests {
    private func question(_ text: String) -> [String: Any] {
        ["message": ["messageId": UUID().uuidString, "role": "ROLE_USER", "parts": [["text": text]]], "configuration": ["returnImmediately": true]]
    }

    /// Creates a key and returns its text and id (the id is printed on standard error).
    private func createKey(role: String, name: String, in data: URL) throws -> (key: String, id: String) {
        let outcome = try ServerProcess.ares(["keys", "create", "--role", role, "--name", name, "--data-dir", data.path])
        let key = outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // The id is the 12 characters after "ares_" (ares_<id>_<secret>; the secret may hold
        // underscores too), whichever store made the key.
        guard outcome.status == 0, key.hasPrefix("ares_"), key.utf8.count > 18 else {
            throw ServerProcess.Failure("keys create failed: \(outcome.stderr)")
        }
        return (key, String(key.dropFirst(5).prefix(12)))
    }

    private func auditList(_ data: URL, _ extra: [String] = []) throws -> [[String: Any]] {
        let outcome = try ServerProcess.ares(["audit", "list", "--format", "json", "--limit", "1000", "--data-dir", data.path] + extra)
        guard outcome.status == 0 else { throw ServerProcess.Failure("audit list failed: \(outcome.stderr)") }
        guard let document = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any],
              let records = document["records"] as? [[String: Any]] else { throw ServerProcess.Failure("not an audit document: \(outcome.stdout)") }
        return records
    }

    private func records(_ all: [[String: Any]], kind: String) -> [[String: Any]] {
        all.filter { $0["kind"] as? String == kind }
    }

    /// How many refusals the records stand for (coalesced ones carry a count).
    private func refusals(_ records: [[String: Any]]) -> Int {
        records.reduce(0) { $0 + (Int(details($1)["count"] ?? "1") ?? 0) }
    }

    private func details(_ record: [String: Any]?) -> [String: String] {
        record?["details"] as? [String: String] ?? [:]
    }

    @Test func securityEventsAreRecordedChainedAndWithoutCredentials() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let admin = try createKey(role: "admin", name: "audit-admin", in: data)
        let researcher = try createKey(role: "researcher", name: "audit-researcher", in: data)
        let viewer = try createKey(role: "viewer", name: "audit-viewer", in: data)
        let doomed = try createKey(role: "viewer", name: "audit-doomed", in: data)
        // One worker, held by a task whose planner waits for a model that never answers in time,
        // so later submissions stay in the queue where an admin can cancel them (however loaded
        // the machine is).
        let slowModel = try PythonFixture(script: "../Console/Browser/slow_model.py")
        defer { slowModel.stop() }
        let modelPort = try slowModel.firstLine()
        let server = try await ServerProcess(dataDirectory: data, arguments: ["--max-running-tasks", "1", "--max-queued-tasks", "50",
                                                                       "--model-url", "http://127.0.0.1:\(modelPort)/v1", "--model", "slow"])

        // A wrong key: a real key's id with a secret made up here.
        let forgedSecret = (UUID().uuidString + UUID().uuidString).replacingOccurrences(of: "-", with: "").lowercased()
        let wrongKey = "ares_\(admin.id)_\(forgedSecret)"
        #expect(try await server.rpc("GetTask", params: ["id": "task-x"], key: wrongKey).status == 401)
        // A viewer may not submit.
        #expect(try await server.rpc("SendMessage", params: question("Who may submit?"), key: viewer.key).status == 403)
        // An admin ingest.
        let ingest = try await server.rpc("ares/ingest", params: ["paths": [ServerProcess.docsFolder.path]], key: admin.key)
        let ingestReply = try ingest.json()
        #expect(ingest.status == 200 && value(ingestReply, "result") != nil, "ingest: \(ingest.text)")
        // An admin cancels a researcher's queued task.
        var submitted: [String] = []
        for index in 0..<3 {
            let sent = try await server.rpc("SendMessage", params: question("How are tasks resumed, take \(index)?"), key: researcher.key).json()
            if let id = value(sent, "result", "task", "id") as? String { submitted.append(id) }
        }
        var canceled: String?
        for id in submitted.reversed() where canceled == nil {
            let reply = try await server.rpc("CancelTask", params: ["id": id], key: admin.key).json()
            if value(reply, "result", "status", "state") as? String == "TASK_STATE_CANCELED" { canceled = id }
        }
        let canceledTask = try #require(canceled, "none of 3 tasks queued behind a blocked worker could be canceled")
        // A key revoked while the server runs (the CLI and the server write the same file), then used.
        let revoke = try await ServerProcess.ares(["keys", "revoke", doomed.id, "--data-dir", data.path])
        #expect(revoke.status == 0, "\(revoke.stderr)")
        // On PostgreSQL the server follows the shared key table within its refresh interval
        // (half a second; 10 s is room for a loaded machine, not the bound being tested).
        var revokedStatus = 0
        for _ in 0..<(try TestBackend.current() == .postgres ? 200 : 1) where revokedStatus != 401 {
            revokedStatus = try await server.rpc("GetTask", params: ["id": "task-x"], key: doomed.key).status
            if revokedStatus != 401 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(revokedStatus == 401)

        // Refusals are written by the server's writer within milliseconds, without a stop.
        var all: [[String: Any]] = []
        for _ in 0..<100 {
            all = try auditList(data)
            if refusals(records(all, kind: "auth.failed")) >= 2, !records(all, kind: "access.denied").isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }

        let started = try #require(records(all, kind: "server.started").last)
        #expect(details(started)["maxRunningTasks"] == "1 (flag)")
        #expect(details(started)["dataDir"]?.hasPrefix(data.path) == true)

        // Identical refusals close together are one record with a count.
        let failures = records(all, kind: "auth.failed")
        #expect(refusals(failures) == 2, "\(failures)")
        for failure in failures {
            #expect(failure["source"] as? String == "127.0.0.1")
            #expect(failure["principal"] == nil)
            #expect(failure["outcome"] as? String == "refused")
            #expect(details(failure)["path"] == "/a2a")
            #expect(!(details(failure)["reason"] ?? "").isEmpty)
        }

        let denial = try #require(records(all, kind: "access.denied").first)
        #expect(denial["principal"] as? String == viewer.id)
        #expect(details(denial)["method"] == "SendMessage")
        #expect(details(denial)["permission"] == "submitTasks")
        #expect(details(denial)["role"] == "viewer")
        #expect(denial["source"] as? String == "127.0.0.1")

        let ingested = try #require(records(all, kind: "admin.ingest").first)
        #expect(ingested["principal"] as? String == admin.id)
        #expect(ingested["outcome"] as? String == "succeeded")
        #expect(details(ingested)["method"] == "ares/ingest")
        #expect(details(ingested)["paths"] == ServerProcess.docsFolder.path)

        let cancels = records(all, kind: "admin.cancel")
        #expect(cancels.count == 1, "\(cancels)")
        #expect(cancels.first?["principal"] as? String == admin.id)
        #expect(details(cancels.first)["taskId"] == canceledTask)
        #expect(details(cancels.first)["owner"] == researcher.id)
        #expect(cancels.first?["outcome"] as? String == "succeeded")
        #expect(records(all, kind: "admin.cancel").allSatisfy { details($0)["owner"] != admin.id }, "an admin's own cancels are not admin actions")

        let created = Set(records(all, kind: "key.created").compactMap { details($0)["keyId"] })
        #expect(created == Set([admin.id, researcher.id, viewer.id, doomed.id]))
        let revoked = records(all, kind: "key.revoked")
        #expect(revoked.count == 1 && details(revoked.first)["keyId"] == doomed.id)
        #expect((revoked.first?["principal"] as? String)?.hasPrefix("local:") == true)

        // Filters on the command line.
        let onlyDenials = try auditList(data, ["--kind", "access.denied", "--since", "1h"])
        #expect(onlyDenials.count == 1 && onlyDenials.first?["kind"] as? String == "access.denied")
        #expect(try auditList(data, ["--since", "2999-01-01"]).isEmpty)
        let badSince = try await ServerProcess.ares(["audit", "list", "--since", "yesterday-ish", "--data-dir", data.path])
        #expect(badSince.status != 0 && badSince.stderr.contains("since"), "\(badSince.stderr)")

        // A flood of one wrong key from one address: a few coalesced records, every refusal counted.
        let earlier = records(try auditList(data), kind: "auth.failed")
        let before = refusals(earlier)
        for _ in 0..<300 { _ = try await server.rpc("GetTask", params: ["id": "task-x"], key: wrongKey) }
        await #expect(server.terminate() == 0, "a graceful stop writes what is queued")
        let flooded = records(try auditList(data), kind: "auth.failed")
        #expect(refusals(flooded) == before + 300)
        // Refusals are coalesced while they wait for the writer's next commit, so how many records
        // they take depends on how fast the requests come (a loaded machine spreads them over many
        // commits); that some were coalesced is what must hold (one record each would be 300).
        #expect(flooded.count - earlier.count < 300, "300 identical refusals took \(flooded.count - earlier.count) records")
        all = try auditList(data)

        // The chain verifies; a graceful stop lost nothing.
        let verified = try await ServerProcess.ares(["audit", "verify", "--data-dir", data.path])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("intact: \(all.count) records"), "\(verified.stdout) vs \(all.count) listed")

        // No credential anywhere: not in the audit file (and its WAL), not in the server's log.
        let audit = data.appendingPathComponent("audit.sqlite")
        var stored = try Data(contentsOf: audit)
        if let wal = try? Data(contentsOf: URL(fileURLWithPath: audit.path + "-wal")) { stored.append(wal) }
        let storedText = String(decoding: stored, as: UTF8.self)
        let log = server.log()
        #expect(!log.isEmpty)
        for secret in [admin.key, researcher.key, viewer.key, doomed.key, wrongKey, forgedSecret] + [admin, researcher, viewer, doomed].map({ secretPart($0.key) }) {
            #expect(!storedText.contains(secret), "a credential is in the audit file")
            #expect(!log.contains(secret), "a credential is in the server's log")
        }
        let mode = try FileManager.default.attributesOfItem(atPath: audit.path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)

        // Tampering: the viewer's denial rewritten to look harmless.
        let position = try #require(denial["position"] as? Int)
        let edit = try run("/usr/bin/sqlite3", [audit.path,
            "UPDATE event SET payload = CAST(replace(CAST(payload AS TEXT), 'SendMessage', 'GetTask') AS BLOB) WHERE version = \(position)"])
        #expect(edit.status == 0, "sqlite3: \(edit.output)")
        let broken = try await ServerProcess.ares(["audit", "verify", "--data-dir", data.path])
        #expect(broken.status != 0, "verify passed a tampered trail: \(broken.stdout)")
        #expect(broken.stdout.contains("record \(position):"), "\(broken.stdout)")
    }

    @Test func readingATrailThatDoesNotExistSaysSo() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("ares-audit-none-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        for command in [["audit", "verify"], ["audit", "list"]] {
            let outcome = try ServerProcess.ares(command + ["--data-dir", empty.path])
            #expect(outcome.status != 0)
            #expect(outcome.stderr.contains("no audit trail"), "\(outcome.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: empty.appendingPathComponent("audit.sqlite").path))
    }

    /// The secret part of a key (`ares_<id>_<secret>`).
    /// The secret after `ares_<12 hex digits>_` (the secret is base64url, so it may itself
    /// contain underscores: splitting at the last one would give a fragment, not the secret).
    private func secretPart(_ key: String) -> String {
        String(key.dropFirst("ares_".count + 12 + 1))
    }

    private func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ServerProcess.Failure("\(executable) is missing: install the Debian package sqlite3 (.ci/run does)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
