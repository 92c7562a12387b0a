import AresTestSupport
import Foundation
import Testing

/// `ares ingest|search|remove --database` as a user runs them: the knowledge base in a real
/// PostgreSQL (a throwaway cluster, a database of this test's own), shared by processes that
/// have no data directory in common.
@Suite struct DatabaseKnowledgeCommandTests {
    @Test func ingestSearchAndRemoveWorkOnTheSharedDatabase() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let environment = await cluster.environment(database: try cluster.createDatabase(prefix: "kbcli"))
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("ares-kbcli-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: work) }
        let corpus = work.appendingPathComponent("corpus")
        try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
        try Data("# Lighthouses\nThe Fresnel lens concentrates the lamp's light into a beam.".utf8)
            .write(to: corpus.appendingPathComponent("lighthouse.md"))
        try Data("Tides rise and fall twice a day, pulled by the moon.".utf8).write(to: corpus.appendingPathComponent("tides.txt"))

        // Each command with a data directory of its own: what they share is the database.
        let ingest = try await AresProcess.run(["ingest", "corpus", "--format", "json", "--data-dir", work.appendingPathComponent("a").path],
                                         in: work, environment: environment)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(ingest.stdout.utf8)) as? [String: Any]
        #expect(summary?["added"] as? Int == 2 && summary?["documents"] as? Int == 2)

        let search = try await AresProcess.run(["search", "Fresnel lens", "--format", "json", "--data-dir", work.appendingPathComponent("b").path],
                                         in: work, environment: environment)
        #expect(search.status == 0, "\(search.stderr)")
        let found = try JSONSerialization.jsonObject(with: Data(search.stdout.utf8)) as? [String: Any]
        let first = (found?["results"] as? [[String: Any]])?.first
        #expect(first?["source"] as? String == "corpus/lighthouse.md", "\(search.stdout)")
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("b/knowledge.sqlite").path),
                "nothing was read from or written to the data directory's SQLite store")

        let remove = try await AresProcess.run(["remove", "corpus/lighthouse.md", "--data-dir", work.appendingPathComponent("c").path],
                                         in: work, environment: environment)
        #expect(remove.status == 0, "\(remove.stderr)")
        #expect(remove.stdout.contains("removed corpus/lighthouse.md"))
        let after = try await AresProcess.run(["search", "Fresnel lens", "--mode", "keyword", "--data-dir", work.appendingPathComponent("d").path],
                                        in: work, environment: environment)
        #expect(after.status == 0 && after.stdout.contains("No passages match"), "\(after.stdout)\(after.stderr)")
        // --prune would forget every document whose file is missing on this machine: on a shared
        // knowledge base, those another machine ingested. Refused, and nothing is forgotten.
        try FileManager.default.removeItem(at: corpus.appendingPathComponent("tides.txt"))
        let prune = try await AresProcess.run(["ingest", "--prune", "--data-dir", work.appendingPathComponent("e").path], in: work, environment: environment)
        #expect(prune.status != 0 && prune.stderr.contains("prune is refused on a knowledge base shared through the database"), "\(prune.stderr)")
        let tides = try await AresProcess.run(["search", "moon tides", "--mode", "keyword", "--format", "json", "--data-dir", work.appendingPathComponent("f").path],
                                        in: work, environment: environment)
        #expect(tides.status == 0 && tides.stdout.contains("corpus/tides.txt"), "\(tides.stdout)\(tides.stderr)")
        for output in [ingest, search, remove, after, prune, tides] {
            #expect(!output.stdout.contains(cluster.password) && !output.stderr.contains(cluster.password))
        }
    }
}
