import AresTestSupport
import Foundation
import Testing

/// `ares db import --from-data-dir` (issue 16) as a user runs it: a data directory made by real
/// commands (ingest, research tasks, keys created and revoked) is moved into a real PostgreSQL,
/// and then everything works from there: the same chains verify, searches find the same
/// passages, a replica serves the imported tasks to the imported key and refuses the revoked one,
/// and a task removed by retention before the import answers with its summary.
@Suite(.serialized) struct DataDirectoryImportTests {
    @Test func anImportedDataDirectoryWorksFromTheDatabase() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let database = try await cluster.createDatabase(prefix: "import")
        let environment = cluster.environment(database: database)
        let source = try await ServerProcess.makeDataDirectory()
        defer { try? FileManager.default.removeItem(at: source) }
        func ask(_ question: String) async throws -> String {
            let asked = try await ServerProcess.ares(["ask", question, "--format", "json", "--data-dir", source.path])
            #expect(asked.status == 0, "\(asked.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(asked.stdout.utf8)) as? [String: Any]
            return try #require(report?["taskId"] as? String, "\(asked.stdout.prefix(300))")
        }
        // A task removed by retention: its checkpoint and summary move too.
        let prunedID = try await ask("Which formats can be ingested?")
        try await Task.sleep(for: .seconds(1.1))
        let pruned = try await ServerProcess.ares(["tasks", "prune", "--older-than", "1s", "--data-dir", source.path])
        #expect(pruned.status == 0 && pruned.stdout.contains("pruned 1 tasks"), "\(pruned.stdout)\(pruned.stderr)")
        var taskIDs: [String] = []
        for question in ["How are tasks resumed after a crash?", "How are API keys revoked?"] { taskIDs.append(try await ask(question)) }
        // An admin sees every task, also those asked from the command line (which have no owner).
        let kept = try await ServerProcess.createKey(role: "admin", in: source, name: "kept")
        let revoked = try await ServerProcess.createKey(role: "researcher", in: source, name: "revoked")
        let revokedID = try #require(revoked.split(separator: "_").dropFirst().first.map(String.init))
        let revocation = try await ServerProcess.ares(["keys", "revoke", revokedID, "--data-dir", source.path])
        #expect(revocation.status == 0, "\(revocation.stderr)")
        let verifiedBefore = try await ServerProcess.ares(["verify", "--data-dir", source.path])
        #expect(verifiedBefore.status == 0 && verifiedBefore.stdout.hasPrefix("ok: "), "\(verifiedBefore.stderr)")
        #expect(verifiedBefore.stdout.contains("1 pruned streams match their retention checkpoints"), "\(verifiedBefore.stdout)")

        let imported = try await ServerProcess.ares(["db", "import", "--from-data-dir", source.path], environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("events: ") && imported.stdout.contains("documents: "), "progress lines: \(imported.stdout)")
        #expect(imported.stdout.contains("2 API keys (1 revoked)"), "\(imported.stdout)")
        #expect(imported.stdout.contains("index snapshot at generation"), "\(imported.stdout)")
        #expect(imported.stdout.contains("1 checkpoints of tasks removed by retention"), "\(imported.stdout)")

        // The very chains: the same verdict line, and every event's stream, version and hash.
        let verifiedAfter = try await ServerProcess.ares(["verify", "--data-dir", source.path + "-unused"], environment: environment)
        #expect(verifiedAfter.status == 0, "\(verifiedAfter.stderr)")
        #expect(verifiedAfter.stdout == verifiedBefore.stdout, "ares verify --database: \(verifiedAfter.stdout) vs \(verifiedBefore.stdout)")
        let databaseVerified = try await ServerProcess.ares(["db", "verify"], environment: environment)
        #expect(databaseVerified.stdout == verifiedBefore.stdout, "ares db verify is the same check")
        let sourceEvents = try SQLiteCommandLine.output(source.appendingPathComponent("tasks.sqlite"),
                                                        "SELECT stream, version, type, recordedAt, hash, previousHash FROM event ORDER BY stream, version")
        let databaseEvents = try await cluster.superuserSQL("SELECT stream, version, type, recorded_at, hash, previous_hash FROM ares_events ORDER BY stream, version",
                                                      database: database)
        #expect(!sourceEvents.isEmpty && databaseEvents == sourceEvents, "the same events, versions, times and hashes")
        for id in taskIDs { #expect(sourceEvents.contains("\(id)|1|")) }

        // Running it again copies nothing (and refuses nothing: it is this directory's import).
        let again = try await ServerProcess.ares(["db", "import", "--from-data-dir", source.path], environment: environment)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("0 events in 0 streams, 0 documents (0 passages), 0 API keys (0 revoked)"), "\(again.stdout)")

        // Searches find the same passages in the database as in the data directory.
        let elsewhere = source.deletingLastPathComponent().appendingPathComponent(source.lastPathComponent + "-search")
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        for query in ["resume interrupted tasks", "revoke an API key", "hash chain verification"] {
            for mode in ["keyword", "hybrid"] {
                let local = try await ServerProcess.ares(["search", query, "--mode", mode, "--format", "json", "--data-dir", source.path])
                let shared = try await ServerProcess.ares(["search", query, "--mode", mode, "--format", "json", "--data-dir", elsewhere.path],
                                                          environment: environment)
                #expect(local.status == 0 && shared.status == 0, "\(local.stderr)\(shared.stderr)")
                let localResults = try Self.results(local.stdout), sharedResults = try Self.results(shared.stdout)
                #expect(!localResults.isEmpty)
                if mode == "keyword" {
                    #expect(sharedResults == localResults, "keyword search for '\(query)'")
                } else {
                    // HNSW is approximate: the best hit is the same, the tail may differ in order.
                    #expect(sharedResults.first == localResults.first, "hybrid search for '\(query)'")
                }
            }
        }

        // A replica on the database serves the imported tasks to the imported key, and refuses the revoked one.
        let replicaData = source.deletingLastPathComponent().appendingPathComponent(source.lastPathComponent + "-replica")
        try FileManager.default.createDirectory(at: replicaData, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: replicaData) }
        let replica = try await ServerProcess(dataDirectory: replicaData, environment: environment)
        try await SharedDatabaseServerTests.waitUntilReady(replica)
        for id in taskIDs {
            let task = try await replica.rpc("GetTask", params: ["id": id], key: kept).json()
            #expect(value(task, "result", "status", "state") as? String == "TASK_STATE_COMPLETED", "\(task)")
        }
        let prunedTask = try await replica.rpc("GetTask", params: ["id": prunedID], key: kept).json()
        #expect(value(prunedTask, "error", "data", "0", "reason") as? String == "TASK_PRUNED", "\(prunedTask)")
        #expect(value(prunedTask, "error", "data", "0", "metadata", "question") as? String == "Which formats can be ingested?")
        let refused = try await replica.rpc("GetTask", params: ["id": taskIDs[0]], key: revoked)
        #expect(refused.status == 401)
        #expect((value(try refused.json(), "error", "message") as? String ?? "").contains("revoked"))
        await #expect(replica.terminate() == 0, "\(replica.log().suffix(2000))")
    }

    /// The sources and texts of a `ares search --format json` answer, in order.
    static func results(_ json: String) throws -> [String] {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return (object?["results"] as? [[String: Any]] ?? []).map { "\($0["source"] ?? "")|\($0["text"] ?? "")" }
    }
}
