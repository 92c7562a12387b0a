import Foundation
import Knowledge
import PostgresStorage
import Testing

/// The shared knowledge base as `ares serve --database` opens it, against a real PostgreSQL 15:
/// deferred (nothing read until the database is ready), refusing searches and writes with its
/// admission's error until loaded, and rewriting the shared index snapshot on a schedule.
@Suite struct SharedKnowledgeLoadingTests {
    struct NotYet: Error, Equatable {}

    @Test func aDeferredKnowledgeBaseRefusesUntilLoadedThenServesWhatOthersWrote() async throws {
        let corpus = try Folder(["gulls.md": "# Gulls\nThe herring gull steals chips on the pier at noon."])
        try await PostgresTestDatabase.make("deferred").withDocuments { documents in
            let writer = try await KnowledgeBase(sharedRepository: documents, dataDirectory: try Folder([:]).url,
                                                 embedder: HashingEmbedder(), access: .readWrite)
            _ = try await writer.ingest(["."], relativeTo: corpus.url)
            let deferred = KnowledgeBase(deferredSharedRepository: documents, dataDirectory: try Folder([:]).url, embedder: HashingEmbedder(),
                                         access: .readWrite, admission: { loaded in loaded ? nil : NotYet() })
            #expect(!deferred.isLoaded)
            await #expect(throws: NotYet.self) { try await deferred.search("herring gull", limit: 3) }
            await #expect(throws: NotYet.self) { try await deferred.ingest(["."], relativeTo: corpus.url) }
            await #expect(throws: NotYet.self) { try await deferred.counts() }
            // Following before loading replays nothing onto the empty indexes.
            #expect(try await deferred.followChanges() == 0)

            try await deferred.loadSharedIndexes()
            #expect(deferred.isLoaded && deferred.indexedPosition == writer.indexedPosition)
            #expect(try await deferred.search("herring gull", limit: 3).first?.passage.text.contains("herring gull") == true)
            #expect(deferred.indexedPassageCount == (try await writer.counts()).chunks)
        }
    }

    @Test func theSnapshotIsRewrittenOnScheduleNotAfterEveryWrite() async throws {
        let corpus = try Folder([:])
        let database = try await PostgresTestDatabase.make("schedule")
        // The generation of the snapshot in the database, as the superuser sees it ("" for none).
        let snapshotGeneration = { try await database.superuserSQL("SELECT generation FROM ares_knowledge_snapshot") }
        try await database.withDocuments { documents in
            // An hour's delay: only the count of waiting writes (3) or an explicit save may write it.
            let knowledge = KnowledgeBase(deferredSharedRepository: documents, dataDirectory: try Folder([:]).url, embedder: HashingEmbedder(),
                                          access: .readWrite, snapshotSchedule: IndexSnapshotSchedule(delay: .seconds(3600), maximumUnsavedWrites: 3))
            try await knowledge.loadSharedIndexes()
            for (number, bird) in ["puffin", "gannet"].enumerated() {
                try corpus.write("\(bird).md", "The \(bird) nests on the cliff.")
                _ = try await knowledge.ingest(["."], relativeTo: corpus.url)
                #expect(try await snapshotGeneration() == "", "write \(number + 1) rewrote the snapshot")
            }
            #expect(await knowledge.writesNotInSnapshot == 2)
            #expect(try await knowledge.saveSnapshotIfDue() == false)
            try corpus.write("shag.md", "The shag dives for fish in the harbour.")
            _ = try await knowledge.ingest(["."], relativeTo: corpus.url)
            // The third waiting write makes it due: saved at the end of that write, at its position.
            #expect(try await snapshotGeneration() == String(knowledge.indexedPosition))
            #expect(await knowledge.writesNotInSnapshot == 0)

            try corpus.write("tern.md", "The arctic tern flies from pole to pole.")
            _ = try await knowledge.ingest(["."], relativeTo: corpus.url)
            #expect(try await snapshotGeneration() == String(knowledge.indexedPosition - 1))
            // At shutdown, what waits is saved; a replica started afterwards loads it and replays nothing.
            #expect(try await knowledge.saveUnsavedSnapshot())
            #expect(try await knowledge.saveUnsavedSnapshot() == false, "nothing left to save")
            #expect(try await snapshotGeneration() == String(knowledge.indexedPosition))
            let late = try await KnowledgeBase(sharedRepository: documents, dataDirectory: try Folder([:]).url, embedder: HashingEmbedder(), access: .readOnly)
            #expect(await late.warnings.isEmpty)
            #expect(try await late.search("arctic tern", limit: 1).first?.passage.text.contains("arctic tern") == true)
        }
    }
}
