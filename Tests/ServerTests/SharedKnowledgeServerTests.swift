import AresTestSupport
import Foundation
import Testing

/// `ares serve --database` serves the knowledge base every replica shares (issue 16): real
/// replicas over loopback on a real PostgreSQL (TestPostgresCluster). A document ingested
/// through one replica is found, cited and forgotten on another; a replica started later loads
/// the index snapshot the first one saved at shutdown. (Refusals while the database is away:
/// `SharedDatabaseServerTests.startsNotReadyWhileTheDatabaseIsAwayAndBecomesReadyWhenItComes`.)
@Suite(.serialized) struct SharedKnowledgeServerTests {
    /// How long a search on another replica may take to see a change here. The target is 2 s
    /// (BENCHMARKS.md measures it); 10 s is room for a loaded machine, not the bound tested.
    static let propagationLimit: TimeInterval = 10

    @Test func aDocumentIngestedOnOneReplicaIsFoundCitedAndForgottenOnAnother() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let database = try await cluster.createDatabase(prefix: "knowledge")
        let environment = cluster.environment(database: database)
        let dataA = try Self.emptyDirectory("a"), dataB = try Self.emptyDirectory("b"), dataC = try Self.emptyDirectory("c")
        let created = try await ServerProcess.ares(["keys", "create", "--role", "admin", "--name", "knowledge", "--data-dir", dataA.path],
                                                   environment: environment)
        #expect(created.status == 0, "\(created.stderr)")
        let key = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let replicaA = try await ServerProcess(dataDirectory: dataA, arguments: ["--replica-id", "knowledge-a"], environment: environment)
        let replicaB = try await ServerProcess(dataDirectory: dataB, arguments: ["--replica-id", "knowledge-b"], environment: environment)
        try await SharedDatabaseServerTests.waitUntilReady(replicaA)
        try await SharedDatabaseServerTests.waitUntilReady(replicaB)
        // Readiness names the shared knowledge base once its indexes are loaded.
        let ready = try await replicaB.request("GET", "/health/ready").json()
        let readiness = value(ready, "checks", "knowledgeBase") as? String ?? ""
        #expect(readiness.hasPrefix("ok: 0 passages") && readiness.contains("shared"), "\(ready)")

        // A document only this test knows, on the disk both replicas run on.
        let marker = "zorblat\(UUID().uuidString.prefix(6).lowercased().filter(\.isLetter))"
        let folder = try Self.emptyDirectory("docs")
        let document = folder.appendingPathComponent("\(marker).md")
        try Data("""
            # The \(marker) gauge

            The \(marker) gauge measures how much frost gathers on the northern observatory's dome each night.
            It was calibrated in 1987 by the observatory's night staff, and it reads in millimetres of frost.
            """.utf8).write(to: document)

        let ingested = try await replicaA.rpc("ares/ingest", params: ["paths": [document.path]], key: key)
        let ingestedJSON = try ingested.json()
        #expect(ingested.status == 200 && value(ingestedJSON, "result", "added") as? Int == 1, "\(ingested.text)")
        // The ingest did not rewrite the shared index snapshot (a full dump of the indexes): that
        // waits for the schedule (30 s) or the replica's shutdown.
        let generation = try await Self.sql("SELECT generation FROM ares_knowledge_state", cluster: cluster, database: database)
        let snapshotAfterIngest = try await Self.sql("SELECT generation FROM ares_knowledge_snapshot", cluster: cluster, database: database)
        #expect(!generation.isEmpty && snapshotAfterIngest != generation, "snapshot \(snapshotAfterIngest), store \(generation)")

        // B finds it by searching, and a research task on B cites it.
        try await Self.waitForSearch(on: replicaB, key: key, query: "\(marker) frost", toFind: true)
        let submitted = try await replicaB.rpc("SendMessage", params: [
            "message": ["messageId": UUID().uuidString, "role": "ROLE_USER",
                        "parts": [["text": "What does the \(marker) gauge measure, and who calibrated it?"]]],
            "configuration": ["returnImmediately": true],
        ], key: key).json()
        let id = try #require(value(submitted, "result", "task", "id") as? String, "\(submitted)")
        let report = try await Self.finishedReport(id, on: replicaB, key: key)
        #expect(report.contains("[1]") && report.contains("\(marker).md"), "the report cites the document: \(report)")

        // A stops gracefully: it saves the snapshot of what it wrote. C, started afterwards,
        // loads that snapshot (no rebuild) and finds the document.
        await #expect(replicaA.terminate() == 0, "\(replicaA.log().suffix(3000))")
        let snapshotAtShutdown = try await Self.sql("SELECT generation FROM ares_knowledge_snapshot", cluster: cluster, database: database)
        #expect(snapshotAtShutdown == generation, "snapshot \(snapshotAtShutdown), store \(generation)")
        let replicaC = try await ServerProcess(dataDirectory: dataC, arguments: ["--replica-id", "knowledge-c"], environment: environment)
        try await SharedDatabaseServerTests.waitUntilReady(replicaC)
        try await Self.waitForSearch(on: replicaC, key: key, query: "\(marker) frost", toFind: true)
        #expect(replicaC.log().contains("knowledge base loaded"), "\(replicaC.log().suffix(2000))")
        #expect(!replicaC.log().contains("rebuilt the indexes"), "C rebuilt instead of loading the snapshot: \(replicaC.log().suffix(2000))")

        // Removed through the CLI on the database: both running replicas forget it.
        let removed = try await ServerProcess.ares(["remove", document.path, "--data-dir", dataA.path], environment: environment)
        #expect(removed.status == 0, "\(removed.stderr)")
        try await Self.waitForSearch(on: replicaB, key: key, query: "\(marker) frost", toFind: false)
        try await Self.waitForSearch(on: replicaC, key: key, query: "\(marker) frost", toFind: false)

        await #expect(replicaB.terminate() == 0, "\(replicaB.log().suffix(3000))")
        await #expect(replicaC.terminate() == 0, "\(replicaC.log().suffix(3000))")
    }

    // MARK: Helpers

    static func emptyDirectory(_ name: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-shared-kb-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static func sql(_ statement: String, cluster: TestPostgresCluster, database: String) async throws -> String {
        try await cluster.superuserSQL(statement, database: database).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Polls `ares/search` until the document with `query`'s marker is (or is no longer) among the results.
    static func waitForSearch(on server: ServerProcess, key: String, query: String, toFind: Bool) async throws {
        let marker = query.split(separator: " ").first.map(String.init) ?? query
        let deadline = Date().addingTimeInterval(propagationLimit)
        var last = ""
        while Date() < deadline {
            let reply = try await server.rpc("ares/search", params: ["query": query, "limit": 5], key: key)
            last = reply.text
            let results = value(try reply.json(), "result", "results") as? [[String: Any]]
            if let results {
                let found = results.contains { ($0["source"] as? String ?? "").contains(marker) || ($0["text"] as? String ?? "").contains(marker) }
                if found == toFind { return }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ServerProcess.Failure("the search for '\(query)' \(toFind ? "never found" : "still finds") the document after \(Int(propagationLimit)) s: \(last.prefix(2000))")
    }

    /// Polls GetTask until the task completed; returns its Markdown report.
    static func finishedReport(_ id: String, on server: ServerProcess, key: String) async throws -> String {
        let deadline = Date().addingTimeInterval(60)
        var task: [String: Any] = [:]
        while Date() < deadline {
            task = try await server.rpc("GetTask", params: ["id": id], key: key).json()
            if value(task, "result", "status", "state") as? String == "TASK_STATE_COMPLETED" {
                let parts = value(task, "result", "artifacts", "0", "parts") as? [[String: Any]] ?? []
                return parts.first { $0["mediaType"] as? String == "text/markdown" }?["text"] as? String ?? ""
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ServerProcess.Failure("task \(id) did not complete within 60 s: \(task)")
    }
}
