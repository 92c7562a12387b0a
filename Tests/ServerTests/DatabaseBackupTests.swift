import AresTestSupport
import Foundation
import Testing

/// `ares backup DEST --database URL`, `ares verify --backup DEST` and `ares restore DEST
/// --database URL2` (issue 12) on a real PostgreSQL (TestPostgresCluster), with data made by
/// the real commands: a knowledge base ingested into the database, a key, research tasks run
/// by `ares serve --database`, backed up while that server runs.
@Suite(.serialized) struct DatabaseBackupTests {
    @Test func aLiveDatabaseIsBackedUpCheckedAndRestoredIntoAnEmptyOne() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let sourceDatabase = try await cluster.createDatabase(prefix: "bk_source")
        let source = cluster.environment(database: sourceDatabase)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("ares-dbbackup-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: work) }
        let corpus = work.appendingPathComponent("corpus")
        try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
        try Data("# Lighthouses\nThe Fresnel lens concentrates the lamp's light into a beam seen far out at sea.".utf8)
            .write(to: corpus.appendingPathComponent("lighthouse.md"))
        try Data("Tides rise and fall twice a day, pulled by the moon; spring tides follow the full and new moon.".utf8)
            .write(to: corpus.appendingPathComponent("tides.txt"))

        let ingest = try await AresProcess.run(["ingest", corpus.path, "--data-dir", work.appendingPathComponent("cli").path], environment: source)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        // `keys create` needs its data directory to exist (for its audit trail).
        try FileManager.default.createDirectory(at: work.appendingPathComponent("keys"), withIntermediateDirectories: true)
        let created = try await AresProcess.run(["keys", "create", "--role", "researcher", "--name", "backup test",
                                                 "--data-dir", work.appendingPathComponent("keys").path], environment: source)
        #expect(created.status == 0, "\(created.stderr)")
        let key = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        TestRunRecord.registerSecret(key)

        // Two research tasks run to their end by a server on the database, which keeps serving
        // while the backup is taken.
        let serveData = work.appendingPathComponent("serve")
        try FileManager.default.createDirectory(at: serveData, withIntermediateDirectories: true)
        let server = try await ServerProcess(dataDirectory: serveData, arguments: ["--replica-id", "backup-source"], environment: source)
        try await SharedDatabaseServerTests.waitUntilReady(server)
        var taskIDs: [String] = []
        for question in ["What does a Fresnel lens do?", "Why are there spring tides?"] {
            taskIDs.append(try await Self.research(question, on: server, key: key))
        }
        let backup = work.appendingPathComponent("backup")
        let backedUp = try await AresProcess.run(["backup", backup.path], environment: source)
        #expect(backedUp.status == 0, "\(backedUp.stderr)")
        #expect(backedUp.stdout.contains("backed up the database") && backedUp.stdout.contains("schema version"), "\(backedUp.stdout)")
        let sourceVerify = try await AresProcess.run(["db", "verify"], environment: source)
        await #expect(server.terminate() == 0, "\(server.log().suffix(2000))")

        // Checked without any database: every table file, every chain, every head.
        let verified = try await AresProcess.run(["verify", "--backup", backup.path])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.contains("ok: backup of postgres://ares@127.0.0.1:\(cluster.port)/\(sourceDatabase)"), "\(verified.stdout)")
        let manifest = try Self.manifest(backup)
        let chains = manifest["chains"] as? [[String: Any]] ?? []
        for id in taskIDs { #expect(chains.contains { ($0["stream"] as? String)?.contains(id) == true }, "task \(id) has a chain head in the manifest") }
        let tables = (manifest["tables"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        for table in ["ares_events", "ares_event_streams", "ares_documents", "ares_passages", "ares_api_keys"] {
            #expect(tables.contains(table), "\(tables)")
        }
        #expect(!tables.contains("ares_schema_migrations"), "the schema version is recorded, not copied")
        let eventRows = try String(contentsOf: backup.appendingPathComponent("tables/ares_events.jsonl"), encoding: .utf8)
        #expect(eventRows.contains("\"hash\"") && !eventRows.contains("transaction_id"), "the inserting transaction's id is left out")

        // Restored into a new database: chains verified, the same rows (a backup of the restored
        // database is byte for byte the first one), a server on it serves the old tasks and new ones.
        let targetDatabase = try await cluster.createDatabase(prefix: "bk_target")
        let target = cluster.environment(database: targetDatabase)
        let restored = try await AresProcess.run(["restore", backup.path, "--database", cluster.url(database: targetDatabase)],
                                                 environment: ["ARES_DATABASE_PASSWORD_FILE": cluster.passwordFile.path])
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(restored.stdout.contains("every hash chain intact"), "\(restored.stdout)")
        let targetVerify = try await AresProcess.run(["db", "verify"], environment: target)
        #expect(targetVerify.status == 0 && sourceVerify.status == 0, "\(targetVerify.stderr)\(sourceVerify.stderr)")
        #expect(targetVerify.stdout == sourceVerify.stdout, "same streams and events: \(targetVerify.stdout) vs \(sourceVerify.stdout)")
        let again = work.appendingPathComponent("backup-of-restored")
        let second = try await AresProcess.run(["backup", again.path], environment: target)
        #expect(second.status == 0, "\(second.stderr)")
        let first = Self.fileDigests(try Self.manifest(backup)), copy = Self.fileDigests(try Self.manifest(again))
        #expect(!first.isEmpty && first == copy, "every table restored row for row: \(first) vs \(copy)")
        #expect((try Self.manifest(again))["chains"] as? NSArray == chains as NSArray)

        let restoredServer = try await ServerProcess(dataDirectory: serveData, arguments: ["--replica-id", "backup-target"], environment: target)
        try await SharedDatabaseServerTests.waitUntilReady(restoredServer)
        for id in taskIDs {
            let task = try await restoredServer.rpc("GetTask", params: ["id": id], key: key).json()
            #expect(value(task, "result", "status", "state") as? String == "TASK_STATE_COMPLETED", "\(task)")
        }
        // Sequences moved on: new events and documents take new positions, not restored ones.
        _ = try await Self.research("How does a Fresnel lens concentrate light?", on: restoredServer, key: key)
        await #expect(restoredServer.terminate() == 0, "\(restoredServer.log().suffix(2000))")
        let afterNew = try await AresProcess.run(["db", "verify"], environment: target)
        #expect(afterNew.status == 0, "\(afterNew.stderr)")

        // Never over data: the same restore again is refused, and names why.
        let overwrite = try await AresProcess.run(["restore", backup.path], environment: target)
        #expect(overwrite.status == 1)
        #expect(overwrite.stderr.contains("already holds ares data"), "\(overwrite.stderr)")
        let intoDirectory = try await AresProcess.run(["restore", backup.path, "--data-dir", work.appendingPathComponent("new-dir").path])
        #expect(intoDirectory.status != 0 && intoDirectory.stderr.contains("is a PostgreSQL backup"), "\(intoDirectory.stderr)")

        // A changed event is found by the check, and the restore refuses the backup before touching the database.
        let damaged = work.appendingPathComponent("damaged")
        try FileManager.default.copyItem(at: backup, to: damaged)
        let events = damaged.appendingPathComponent("tables/ares_events.jsonl")
        var lines = try String(contentsOf: events, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var row = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        row["type"] = "Forged"
        lines[0] = String(decoding: try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]), as: UTF8.self)
        try lines.joined(separator: "\n").write(to: events, atomically: true, encoding: .utf8)
        let check = try await AresProcess.run(["verify", "--backup", damaged.path])
        #expect(check.status == 1)
        #expect(check.stderr.contains("tables/ares_events.jsonl: SHA-256 does not match the manifest"), "\(check.stderr)")
        #expect(check.stderr.contains("does not match its hash: the event was changed"), "\(check.stderr)")
        let freshDatabase = try await cluster.createDatabase(prefix: "bk_fresh")
        let refused = try await AresProcess.run(["restore", damaged.path], environment: cluster.environment(database: freshDatabase))
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("the backup is damaged, refusing to restore it"), "\(refused.stderr)")
        let untouched = try await AresProcess.run(["db", "status"], environment: cluster.environment(database: freshDatabase))
        #expect(untouched.stdout.contains("schema version: 0"), "nothing was created: \(untouched.stdout)")
        for output in [backedUp, verified, restored, overwrite, check, refused] {
            #expect(!output.stdout.contains(cluster.password) && !output.stderr.contains(cluster.password))
        }
    }

    /// Submits a question and waits for its task to complete; returns the task's id.
    static func research(_ question: String, on server: ServerProcess, key: String) async throws -> String {
        let submitted = try await server.rpc("SendMessage", params: [
            "message": ["messageId": UUID().uuidString, "role": "ROLE_USER", "parts": [["text": question]]],
            "configuration": ["returnImmediately": true],
        ], key: key).json()
        let id = try #require(value(submitted, "result", "task", "id") as? String, "\(submitted)")
        var state = ""
        for _ in 0..<600 {
            let task = try await server.rpc("GetTask", params: ["id": id], key: key).json()
            state = value(task, "result", "status", "state") as? String ?? ""
            if state == "TASK_STATE_COMPLETED" { return id }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ServerProcess.Failure("task \(id) did not complete (state \(state)): \(server.log().suffix(2000))")
    }

    static func manifest(_ backup: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: backup.appendingPathComponent("manifest.json"))) as? [String: Any] ?? [:]
    }

    /// Each table file's SHA-256 and row count, by table.
    static func fileDigests(_ manifest: [String: Any]) -> [String: String] {
        var digests: [String: String] = [:]
        for table in manifest["tables"] as? [[String: Any]] ?? [] {
            guard let name = table["name"] as? String else { continue }
            digests[name] = "\(table["sha256"] as? String ?? "?") \(table["rows"] as? Int ?? -1)"
        }
        return digests
    }
}
