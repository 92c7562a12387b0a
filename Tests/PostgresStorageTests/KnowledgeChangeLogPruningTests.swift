import Foundation
import Knowledge
import PostgresStorage
import Testing

/// Pruning the knowledge base's change log (`ares_knowledge_changes`) on a real PostgreSQL:
/// only changes the index snapshot covers go, a new replica still starts correctly from the
/// snapshot, and a replica that was behind the pruned changes notices the gap and rebuilds
/// instead of silently missing them.
@Suite struct KnowledgeChangeLogPruningTests {
    @Test func aNewReplicaLoadsAfterPruningAndALaggingOneRebuilds() async throws {
        let corpus = try Folder(["one.md": "The heron nests by the lake."])
        try await PostgresTestDatabase.make("prune").withDocuments { documents in
            let writer = try await KnowledgeBase(sharedRepository: documents, dataDirectory: try Folder([:]).url,
                                                 embedder: HashingEmbedder(), access: .readWrite)
            _ = try await writer.ingest(["."], relativeTo: corpus.url)
            // A replica that stops following after change 1: the changes it needs will be pruned.
            let lagging = try await KnowledgeBase(sharedRepository: documents, dataDirectory: try Folder([:]).url,
                                                  embedder: HashingEmbedder(), access: .readOnly)
            #expect(lagging.indexedPosition == 1)
            try corpus.write("two.md", "The cormorant dries its wings on the pier.")
            _ = try await writer.ingest(["."], relativeTo: corpus.url)
            try corpus.write("three.md", "The kingfisher dives for minnows.")
            _ = try await writer.ingest(["."], relativeTo: corpus.url)
            #expect(try await writer.remove("one.md") == ["one.md"])
            // Gone from the folder too, or the next ingest would add it again.
            try FileManager.default.removeItem(at: corpus.url.appendingPathComponent("one.md"))
            // The snapshot at the latest generation, whatever the snapshot policy of ingest.
            #expect(try await SharedIndexSnapshot.rebuild(in: documents, dimension: HashingEmbedder().dimension) == 4)

            // Recent changes stay (the default retention); with none, every covered change goes
            // but the newest (a replica behind it must find the gap, not an empty log).
            #expect(try await documents.pruneChanges() == 0)
            #expect(try await documents.changes(after: 0, limit: 10).map(\.position) == [1, 2, 3, 4])
            #expect(try await documents.pruneChanges(olderThan: .zero) == 3)
            #expect(try await documents.changes(after: 0, limit: 10).map(\.position) == [4])

            // A new replica: the snapshot, nothing to apply, and every search right.
            let fresh = try await KnowledgeBase(sharedRepository: documents, dataDirectory: try Folder([:]).url,
                                                embedder: HashingEmbedder(), access: .readOnly)
            let warnings = await fresh.warnings
            #expect(warnings.isEmpty, "the snapshot was used: \(warnings)")
            #expect(fresh.indexedPosition == 4)
            #expect(try await fresh.search("cormorant", limit: 3, mode: .keyword).first?.passage.source == "two.md")
            #expect(try await fresh.search("kingfisher dives for minnows", limit: 1, mode: .vector).first?.passage.source == "three.md")
            #expect(try await fresh.search("heron", limit: 3, mode: .keyword).isEmpty, "the removal is in the snapshot")

            // Changes after the snapshot are never pruned, and followers apply them.
            try corpus.write("four.md", "The albatross glides for days without a wingbeat.")
            _ = try await writer.ingest(["."], relativeTo: corpus.url)
            #expect(try await documents.pruneChanges(olderThan: .zero) <= 1, "never the newest change")
            #expect(try await documents.changes(after: 0, limit: 10).map(\.position) == [5])
            try await fresh.followChanges()
            #expect(fresh.indexedPosition == 5)
            #expect(try await fresh.search("albatross", limit: 3, mode: .keyword).first?.passage.source == "four.md")

            // The lagging replica asks for the changes after 1 and finds 5 first (or none): it
            // rebuilds from the stored passages rather than miss 2 to 4.
            try await lagging.followChanges()
            #expect(lagging.indexedPosition == 5)
            #expect(try await lagging.search("heron", limit: 3, mode: .keyword).isEmpty, "the pruned removal took effect")
            #expect(try await lagging.search("cormorant", limit: 3, mode: .keyword).first?.passage.source == "two.md")
            #expect(try await lagging.search("albatross", limit: 3, mode: .keyword).first?.passage.source == "four.md")
        }
    }
}
