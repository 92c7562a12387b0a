import AresTestSupport
import Foundation
import Testing

/// `ares serve --database` (issue 16): real replicas over loopback on a real PostgreSQL
/// (TestPostgresCluster), with keys made by the real CLI.
@Suite(.serialized) struct SharedDatabaseServerTests {
    /// Two replicas on one database: a task submitted to A is seen, with its result, on B; a
    /// key made once works on both; revoked once, both refuse it.
    @Test func twoReplicasShareTasksAndKeys() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let environment = await cluster.environment(database: try cluster.createDatabase(prefix: "replicas"))
        // The knowledge base is the database's too: ingested once, searched by both replicas.
        let dataA = try SharedKnowledgeServerTests.emptyDirectory("replicas-a")
        let dataB = try SharedKnowledgeServerTests.emptyDirectory("replicas-b")
        let ingested = try await ServerProcess.ares(["ingest", ServerProcess.docsFolder.path, "--data-dir", dataA.path], environment: environment)
        #expect(ingested.status == 0, "\(ingested.stderr)")

        let created = try await ServerProcess.ares(["keys", "create", "--role", "researcher", "--name", "both replicas", "--data-dir", dataA.path],
                                             environment: environment)
        #expect(created.status == 0, "\(created.stderr)")
        let key = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let keyID = try #require(key.split(separator: "_").dropFirst().first.map(String.init))
        // The key is in the database, not in either data directory.
        let listed = try await ServerProcess.ares(["keys", "list", "--data-dir", dataB.path], environment: environment)
        #expect(listed.stdout.contains(keyID) && listed.stdout.contains("both replicas"))
        let local = try await ServerProcess.ares(["keys", "list", "--data-dir", dataA.path])
        #expect(!local.stdout.contains(keyID))

        let replicaA = try await ServerProcess(dataDirectory: dataA, arguments: ["--replica-id", "replica-a"], environment: environment)
        let replicaB = try await ServerProcess(dataDirectory: dataB, arguments: ["--replica-id", "replica-b"], environment: environment)
        try await Self.waitUntilReady(replicaA)
        try await Self.waitUntilReady(replicaB)

        let submitted = try await replicaA.rpc("SendMessage", params: [
            "message": ["messageId": UUID().uuidString, "role": "ROLE_USER", "parts": [["text": "How are tasks resumed after a crash?"]]],
            "configuration": ["returnImmediately": true],
        ], key: key).json()
        let id = try #require(value(submitted, "result", "task", "id") as? String, "\(submitted)")

        // B has never seen the task: it reads it from the shared store, until it has ended.
        var onB: [String: Any] = [:]
        for _ in 0..<400 {
            onB = try await replicaB.rpc("GetTask", params: ["id": id], key: key).json()
            if value(onB, "result", "status", "state") as? String == "TASK_STATE_COMPLETED" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(value(onB, "result", "status", "state") as? String == "TASK_STATE_COMPLETED", "\(onB)")
        let parts = value(onB, "result", "artifacts", "0", "parts") as? [[String: Any]] ?? []
        let report = parts.first { $0["mediaType"] as? String == "text/markdown" }?["text"] as? String ?? ""
        #expect(report.contains("[1]"), "B serves the report A wrote")
        let listedOnB = try await replicaB.rpc("ListTasks", params: [:], key: key).json()
        let ids = (value(listedOnB, "result", "tasks") as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(ids.contains(id), "\(listedOnB)")

        let revoked = try await ServerProcess.ares(["keys", "revoke", keyID, "--data-dir", dataA.path], environment: environment)
        #expect(revoked.status == 0, "\(revoked.stderr)")
        // Each replica refuses it within its refresh interval (half a second); 10 s is room
        // for a loaded machine, not the bound being tested.
        for replica in [replicaA, replicaB] {
            var status = 0
            var message = ""
            for _ in 0..<200 {
                let reply = try await replica.rpc("GetTask", params: ["id": id], key: key)
                status = reply.status
                message = value(try reply.json(), "error", "message") as? String ?? ""
                if status == 401 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(status == 401)
            #expect(message.contains("revoked"), "\(message)")
        }
        // A key works on every replica on the very first request after its creation committed,
        // however it was made: a replica reloads the keys before it refuses one (docs/postgresql.md
        // "API keys"). Periodic rounds come every half second, so a replica that only had those
        // would refuse the key made on A and used on B a few milliseconds later: no polling here.
        let admin = try await ServerProcess.ares(["keys", "create", "--role", "admin", "--name", "replica admin", "--data-dir", dataA.path],
                                           environment: environment)
        let adminKey = admin.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await replicaA.rpc("ares/listKeys", params: [:], key: adminKey).status == 200, "a key made by the CLI works at once")
        let made = try await replicaA.rpc("ares/createKey", params: ["role": "researcher", "name": "made on A"], key: adminKey).json()
        let madeKey = try #require(value(made, "result", "secret") as? String, "\(made)")
        let madeID = try #require(value(made, "result", "key", "id") as? String, "\(made)")
        #expect(try await replicaB.rpc("ListTasks", params: [:], key: madeKey).status == 200, "a key made on A works at once on B")
        #expect(try await replicaA.rpc("ListTasks", params: [:], key: madeKey).status == 200, "the new key works at once on the replica that made it")
        let unmade = try await replicaA.rpc("ares/revokeKey", params: ["id": madeID], key: adminKey)
        #expect(unmade.status == 200)
        #expect(try await replicaA.rpc("ListTasks", params: [:], key: madeKey).status == 401, "revoked there, refused there at once")

        let stoppedA = await replicaA.terminate(), stoppedB = await replicaB.terminate()
        #expect(stoppedA == 0, "\(replicaA.log().suffix(3000))")
        #expect(stoppedB == 0, "\(replicaB.log().suffix(3000))")
    }

    /// --backup-to would ship a data directory that holds none of a PostgreSQL server's tasks,
    /// keys or documents: refused at start, before anything connects, saying what to use instead.
    @Test func continuousBackupOfADataDirectoryIsRefusedWithADatabase() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("ares-db-backup-\(UUID().uuidString)")
        let shipping = FileManager.default.temporaryDirectory.appendingPathComponent("ares-db-shipping-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data); try? FileManager.default.removeItem(at: shipping) }
        let outcome = try ServerProcess.ares(["serve", "--dev", "--port", "0", "--data-dir", data.path, "--backup-to", shipping.path,
                                              "--database", "postgres://ares@127.0.0.1:1/ares"])
        #expect(outcome.status != 0)
        let message = outcome.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(message.contains("--backup-to ships the data directory") && message.contains("ares backup DEST --database URL"), "\(message)")
        #expect(!message.contains("\n"), "one line: \(message)")
        #expect(!FileManager.default.fileExists(atPath: shipping.path), "nothing was shipped")
    }

    /// Retention on PostgreSQL: replica A prunes with `--retention 2s`; replica B, which cached the
    /// task it ran, answers with the summary too once the retention record reaches it through the
    /// change feed; `ares tasks prune` prunes in the database when one is configured (and `ares
    /// tasks list`, `show`, `events` and `cancel` read it); the chains and checkpoints verify.
    @Test func retentionOnADatabasePrunesForEveryReplica() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let environment = await cluster.environment(database: try cluster.createDatabase(prefix: "retention"))
        let dataA = try SharedKnowledgeServerTests.emptyDirectory("retention-a")
        let dataB = try SharedKnowledgeServerTests.emptyDirectory("retention-b")
        defer { for data in [dataA, dataB] { try? FileManager.default.removeItem(at: data) } }
        let ingested = try await ServerProcess.ares(["ingest", ServerProcess.docsFolder.path, "--data-dir", dataA.path], environment: environment)
        #expect(ingested.status == 0, "\(ingested.stderr)")
        let created = try await ServerProcess.ares(["keys", "create", "--role", "researcher", "--name", "retention", "--data-dir", dataA.path],
                                             environment: environment)
        let key = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // B first, alone: the task it runs is in its cache before any replica prunes.
        let replicaB = try await ServerProcess(dataDirectory: dataB, arguments: ["--replica-id", "replica-b"], environment: environment)
        defer { replicaB.stop() }
        try await Self.waitUntilReady(replicaB)

        func ask(_ replica: ServerProcess, _ text: String) async throws -> String {
            let answer = try await replica.rpc("SendMessage", params: [
                "message": ["messageId": UUID().uuidString, "role": "ROLE_USER", "parts": [["text": text]]],
            ], key: key).json()
            #expect(value(answer, "result", "task", "status", "state") as? String == "TASK_STATE_COMPLETED", "\(answer)")
            return try #require(value(answer, "result", "task", "id") as? String, "\(answer)")
        }
        /// GetTask on `replica` until it answers TASK_PRUNED (20 s: room for a loaded machine).
        func waitUntilPruned(_ id: String, on replica: ServerProcess) async throws -> [String: Any] {
            var answer: [String: Any] = [:]
            for _ in 0..<200 {
                answer = try await replica.rpc("GetTask", params: ["id": id], key: key).json()
                if value(answer, "error", "data", "0", "reason") as? String == "TASK_PRUNED" { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            return answer
        }

        // Asked on B, which holds the ended task in memory; A's retention removes it from the database.
        let first = try await ask(replicaB, "How are tasks resumed after a crash?")
        let cached = try await replicaB.rpc("GetTask", params: ["id": first], key: key).json()
        #expect(value(cached, "result", "status", "state") as? String == "TASK_STATE_COMPLETED", "\(cached)")
        let replicaA = try await ServerProcess(dataDirectory: dataA, arguments: ["--replica-id", "replica-a", "--retention", "2s"], environment: environment)
        defer { replicaA.stop() }
        try await Self.waitUntilReady(replicaA)
        for replica in [replicaA, replicaB] {
            let answer = try await waitUntilPruned(first, on: replica)
            #expect(value(answer, "error", "data", "0", "reason") as? String == "TASK_PRUNED", "\(answer)")
            #expect(value(answer, "error", "data", "0", "metadata", "question") as? String == "How are tasks resumed after a crash?")
        }
        let listedOnB = try await replicaB.rpc("ListTasks", params: [:], key: key).json()
        #expect(value(listedOnB, "result", "totalSize") as? Int == 0, "B's listing dropped it too: \(listedOnB)")

        // By hand, with the database from the environment: the tasks are pruned there.
        await #expect(replicaA.terminate() == 0)
        let second = try await ask(replicaB, "What does ares verify check?")
        // The task commands read the database too.
        let events = try await ServerProcess.ares(["tasks", "events", second, "--data-dir", dataB.path], environment: environment)
        #expect(events.status == 0 && events.stdout.contains("TaskSubmitted") && events.stdout.contains("TaskCompleted"), "\(events.stdout)\(events.stderr)")
        let cancel = try await ServerProcess.ares(["tasks", "cancel", second, "--data-dir", dataB.path], environment: environment)
        #expect(cancel.status != 0 && cancel.stderr.contains("has already ended (completed)"), "\(cancel.stderr)")
        try await Task.sleep(for: .seconds(1.1))
        let pruned = try await ServerProcess.ares(["tasks", "prune", "--older-than", "1s", "--data-dir", dataB.path], environment: environment)
        #expect(pruned.status == 0 && pruned.stdout.contains("pruned 1 tasks"), "\(pruned.stdout)\(pruned.stderr)")
        let answer = try await waitUntilPruned(second, on: replicaB)
        #expect(value(answer, "error", "data", "0", "reason") as? String == "TASK_PRUNED", "\(answer)")
        let listed = try await ServerProcess.ares(["tasks", "list", "--data-dir", dataB.path], environment: environment)
        #expect(listed.status == 0 && listed.stdout.contains("\(first)  pruned") && listed.stdout.contains("\(second)  pruned"), "\(listed.stdout)\(listed.stderr)")
        let shown = try await ServerProcess.ares(["tasks", "show", second, "--data-dir", dataB.path], environment: environment)
        #expect(shown.status != 0 && shown.stderr.contains("removed by retention") && shown.stderr.contains("What does ares verify check?"), "\(shown.stderr)")

        let verify = try await ServerProcess.ares(["db", "verify"], environment: environment)
        #expect(verify.status == 0 && verify.stdout.contains("2 pruned streams match their retention checkpoints"), "\(verify.stdout)\(verify.stderr)")
        await #expect(replicaB.terminate() == 0)
    }

    /// A password in the URL is refused before anything connects, in one line that does not repeat it.
    @Test func aPasswordInTheURLIsRefusedInOneLineWithoutEchoingIt() throws {
        let password = "pw-\(UUID().uuidString)"
        TestRunRecord.registerSecret(password)
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("ares-db-url-\(UUID().uuidString)")
        for arguments in [["serve", "--dev", "--port", "0", "--data-dir", data.path, "--database", "postgres://ares:\(password)@127.0.0.1:5432/ares"],
                          ["keys", "list", "--data-dir", data.path, "--database", "postgres://ares:\(password)@127.0.0.1:5432/ares"]] {
            let outcome = try ServerProcess.ares(arguments)
            #expect(outcome.status != 0)
            let message = outcome.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(message.contains("carries a password") && message.contains("ARES_DATABASE_PASSWORD_FILE"), "\(message)")
            #expect(!message.contains("\n"), "one line: \(message)")
            #expect(!outcome.stderr.contains(password) && !outcome.stdout.contains(password))
        }
        // `ares config show` names the database and where its password comes from, never the password.
        let passwordFile = FileManager.default.temporaryDirectory.appendingPathComponent("ares-db-pw-\(UUID().uuidString)")
        try Data(password.utf8).write(to: passwordFile)
        defer { try? FileManager.default.removeItem(at: passwordFile) }
        let shown = try ServerProcess.ares(["config", "show", "--format", "text", "--data-dir", data.path, "--database-notify", "poll"],
                                           environment: ["ARES_DATABASE_URL": "postgres://ares@db.example:5432/ares?sslmode=require",
                                                         "ARES_DATABASE_PASSWORD_FILE": passwordFile.path])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("postgres://ares@db.example:5432/ares?sslmode=require"))
        #expect(shown.stdout.contains(passwordFile.path))
        #expect(shown.stdout.contains("databaseNotify") && shown.stdout.contains("poll"))
        #expect(!shown.stdout.contains(password))
    }

    /// The database is away at start: the server listens, says it is not ready and why, and
    /// becomes ready by itself once the database is there (no restart). Lost while serving, it
    /// answers retryable errors at once, and recovers by itself when the database is back.
    @Test func startsNotReadyWhileTheDatabaseIsAwayAndBecomesReadyWhenItComes() async throws {
        let cluster = try TestPostgresCluster.start()
        defer { cluster.stop() }
        try cluster.pause()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("ares-db-away-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let server = try await ServerProcess(dataDirectory: data, arguments: ["--dev"], environment: cluster.environment())
        let away = try await server.request("GET", "/health/ready")
        #expect(away.status == 503)
        let detail = value(try away.json(), "checks", "database") as? String ?? ""
        #expect(detail.contains("connecting"), "\(away.text)")
        // The shared knowledge base cannot load yet: searches and ingests are refused as retryable.
        #expect((value(try away.json(), "checks", "knowledgeBase") as? String)?.hasPrefix("loading") == true, "\(away.text)")
        for (method, params) in [("ares/search", ["query": "frost"] as [String: Any]), ("ares/ingest", ["paths": [data.path]])] {
            let refused = try await server.rpc(method, params: params, key: nil)
            #expect(refused.status == 503 && refused.header("Retry-After") != nil, "\(method): \(refused.text)")
            #expect(value(try refused.json(), "error", "code") as? Int == -32050, "\(method): \(refused.text)")
        }

        try cluster.resume()
        try await Self.waitUntilReady(server)
        let ready = try await server.request("GET", "/health/ready").json()
        #expect((value(ready, "checks", "database") as? String)?.hasPrefix("ok") == true, "\(ready)")
        let searched = try await server.rpc("ares/search", params: ["query": "frost"], key: nil)
        let searchedJSON = try searched.json()
        #expect(searched.status == 200 && value(searchedJSON, "result", "results") != nil, "\(searched.text)")

        // Lost while serving: not ready once it has been silent for a while, and a submission is
        // refused at once as retryable (not after the pool's minute of connect attempts).
        try cluster.pause()
        var lost: ServerProcess.Reply?
        for _ in 0..<300 {
            let reply = try await server.request("GET", "/health/ready")
            if reply.status == 503 { lost = reply; break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(lost != nil, "readiness never turned false with the database away")
        let started = Date()
        let refused = try await server.rpc("SendMessage", params: [
            "message": ["messageId": UUID().uuidString, "role": "ROLE_USER", "parts": [["text": "Is the database there?"]]],
            "configuration": ["returnImmediately": true],
        ], key: nil)
        #expect(refused.status == 503 && refused.header("Retry-After") != nil, "\(refused.text)")
        #expect(value(try refused.json(), "error", "code") as? Int == -32050)
        // Loose on purpose (a loaded machine): the point is "not the pool's minute".
        #expect(Date().timeIntervalSince(started) < 20)
        try cluster.resume()
        try await Self.waitUntilReady(server)
        let stopped = await server.terminate()
        #expect(stopped == 0, "\(server.log().suffix(3000))")
    }

    /// Before a replica has loaded the keys from the database, a key in the right shape may
    /// well be valid: it is answered 503 with Retry-After (retry), never 401 (which would tell a
    /// client to throw a good key away). A credential that is not a key at all is still 401.
    @Test func aKeyPresentedBeforeTheKeysAreLoadedIsAnsweredRetryNotRefused() async throws {
        let cluster = try TestPostgresCluster.start()
        defer { cluster.stop() }
        try cluster.pause()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("ares-db-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let server = try await ServerProcess(dataDirectory: data, arguments: [], environment: cluster.environment())
        // Generated here, in the shape of a key; no such key exists anywhere.
        let hex = (0..<6).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let secret = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let shaped = "ares_\(hex)_\(secret)"
        let waiting = try await server.rpc("GetTask", params: ["id": "task-1"], key: shaped)
        #expect(waiting.status == 503 && waiting.header("Retry-After") != nil, "\(waiting.status): \(waiting.text)")
        #expect(value(try waiting.json(), "error", "code") as? Int == -32050, "\(waiting.text)")
        #expect(waiting.text.contains("loading its API keys"), "\(waiting.text)")
        let metrics = try await server.request("GET", "/metrics", headers: ["Authorization": "Bearer \(shaped)"])
        #expect(metrics.status == 503, "\(metrics.status): \(metrics.text)")
        let malformed = try await server.rpc("GetTask", params: ["id": "task-1"], key: "not-a-key")
        #expect(malformed.status == 401, "\(malformed.status): \(malformed.text)")
        await #expect(server.terminate() == 0, "\(server.log().suffix(2000))")
    }

    /// Polls `/health/ready` until it answers 200 (start-up connects and migrates first).
    static func waitUntilReady(_ server: ServerProcess, within seconds: Double = 60) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        while Date() < deadline {
            let reply = try await server.request("GET", "/health/ready")
            if reply.status == 200 { return }
            last = reply.text
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ServerProcess.Failure("not ready within \(Int(seconds)) s: \(last)\n\(server.log().suffix(2000))")
    }
}
