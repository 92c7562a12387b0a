import Foundation
import Testing
@testable import Knowledge

/// The knowledge base end to end on real files and a real SQLite database.
@Suite struct KnowledgeBaseTests {
    static let vacuumPage = """
        <html><head><title>Routine Vacuuming</title><script>var tracking = "vacuum everything";</script></head>
        <body><div class="navheader">Prev Up Home Next</div>
        <h1>Routine Vacuuming</h1>
        <p>PostgreSQL databases require periodic maintenance known as vacuuming. The VACUUM command
        reclaims storage occupied by dead tuples, updates planner statistics and protects against
        transaction ID wraparound failures.</p>
        <h2>The Autovacuum Daemon</h2>
        <p>The autovacuum daemon automates the execution of VACUUM and ANALYZE commands when tables
        have enough changed rows.</p>
        </body></html>
        """
    static let indexesNote = """
        # Index Types

        PostgreSQL provides several index types: B-tree, Hash, GiST, SP-GiST, GIN and BRIN.
        B-tree indexes handle equality and range queries on data that can be sorted.

        ## GIN

        GIN indexes are inverted indexes, suited to values that contain several component
        values such as arrays and full text documents.
        """
    static let replicationText = """
        Streaming replication lets a standby server stay up to date with its primary.

        The standby connects to the primary, which streams write-ahead log records to it as they are generated.
        """

    func makeCorpus() throws -> TemporaryDirectory {
        let corpus = try TemporaryDirectory("ares-corpus")
        try corpus.write("html/routine-vacuuming.html", Self.vacuumPage)
        try corpus.write("notes/indexes.md", Self.indexesNote)
        try corpus.write("replication.txt", Self.replicationText)
        return corpus
    }

    func open(_ data: TemporaryDirectory, _ access: KnowledgeBase.AccessMode = .readWrite) throws -> KnowledgeBase {
        try KnowledgeBase(dataDirectory: data.url.appendingPathComponent("data"), embedder: HashingEmbedder(), access: access)
    }

    @Test func ingestsFoldersAndFindsPassagesInEveryMode() async throws {
        let corpus = try makeCorpus()
        let data = try TemporaryDirectory()
        let knowledge = try open(data)
        let summary = try await knowledge.ingest(["."], relativeTo: corpus.url)
        #expect(summary.filesSeen == 3)
        #expect(summary.added == 3)
        #expect(summary.skipped.isEmpty)
        #expect(summary.documents == 3)
        #expect(summary.chunks >= 3)

        for mode in SearchMode.allCases {
            let results = try await knowledge.search("how does vacuum reclaim storage of dead tuples", limit: 3, mode: mode)
            #expect(results.first?.passage.source == "html/routine-vacuuming.html", "mode \(mode)")
        }
        let gin = try await knowledge.search("inverted index for arrays", limit: 1, mode: .keyword)
        #expect(gin.first?.passage.source == "notes/indexes.md")
        #expect(gin.first?.passage.text.contains("GIN indexes are inverted indexes") == true)
        #expect(gin.first?.passage.headingPath == ["Index Types"], "short sections merge into the passage of their parent")
        // Scripts and navigation are not indexed.
        #expect(try await knowledge.search("tracking", limit: 3, mode: .keyword).isEmpty)
        #expect(try await knowledge.search("Prev Up Home", limit: 3, mode: .keyword).isEmpty)
    }

    @Test func passagesPointAtTheirExactSpanOfTheStoredText() async throws {
        let corpus = try makeCorpus()
        let data = try TemporaryDirectory()
        let knowledge = try open(data)
        _ = try await knowledge.ingest(["replication.txt"], relativeTo: corpus.url)
        let result = try #require(try await knowledge.search("standby primary write-ahead log", limit: 1).first)
        let store = try DocumentStore(path: data.url.appendingPathComponent("data/knowledge.sqlite").path, readOnly: true)
        let documentText = try #require(try store.documentText(source: "replication.txt"))
        let scalars = Array(documentText.unicodeScalars)
        #expect(result.passage.start < result.passage.end)
        #expect(result.passage.end <= scalars.count)
        var slice = String.UnicodeScalarView()
        slice.append(contentsOf: scalars[result.passage.start..<result.passage.end])
        #expect(String(slice) == result.passage.text)
        #expect(result.passage.text.contains("standby"))
        #expect(result.passage.source == "replication.txt")
        #expect(result.passage.chunkId.count == 16)
    }

    @Test func reopeningGivesTheSameResults() async throws {
        let corpus = try makeCorpus()
        let data = try TemporaryDirectory()
        var before: [[String]] = []
        do {
            let knowledge = try open(data)
            _ = try await knowledge.ingest(["."], relativeTo: corpus.url)
            for mode in SearchMode.allCases {
                before.append(try await knowledge.search("index types for sorted data", limit: 3, mode: mode).map(\.passage.chunkId))
            }
        }
        let reopened = try open(data, .readOnly)
        #expect(await reopened.warnings.isEmpty)
        var after: [[String]] = []
        for mode in SearchMode.allCases {
            after.append(try await reopened.search("index types for sorted data", limit: 3, mode: mode).map(\.passage.chunkId))
        }
        #expect(before == after)
        #expect(!before[0].isEmpty)
    }

    @Test func incrementalIngestSkipsUnchangedReplacesChangedAndPrunesDeleted() async throws {
        let corpus = try makeCorpus()
        let data = try TemporaryDirectory()
        let knowledge = try open(data)
        _ = try await knowledge.ingest(["."], relativeTo: corpus.url)

        let again = try await knowledge.ingest(["."], relativeTo: corpus.url)
        #expect(again.unchanged == 3)
        #expect(again.added == 0 && again.updated == 0)
        #expect(again.chunksAdded == 0)

        try corpus.write("replication.txt", "Logical replication publishes table changes to subscribers using a publication.")
        let changed = try await knowledge.ingest(["."], relativeTo: corpus.url)
        #expect(changed.updated == 1)
        #expect(changed.unchanged == 2)
        #expect(try await knowledge.search("standby streams write-ahead log", limit: 5, mode: .keyword)
            .allSatisfy { $0.passage.source != "replication.txt" })
        #expect(try await knowledge.search("publication subscribers", limit: 1, mode: .keyword).first?.passage.source == "replication.txt")

        try FileManager.default.removeItem(at: corpus.url.appendingPathComponent("notes/indexes.md"))
        let pruned = try await knowledge.ingest(["."], prune: true, relativeTo: corpus.url)
        #expect(pruned.removed == 1)
        #expect(pruned.documents == 2)
        #expect(try await knowledge.search("GIN inverted index", limit: 5, mode: .keyword).isEmpty)

        let removed = try await knowledge.remove("html")
        #expect(removed == ["html/routine-vacuuming.html"])
        #expect(try await knowledge.counts().documents == 1)
    }

    @Test func aTouchedButIdenticalFileIsNotReindexed() async throws {
        let corpus = try makeCorpus()
        let data = try TemporaryDirectory()
        let knowledge = try open(data)
        _ = try await knowledge.ingest(["."], relativeTo: corpus.url)
        let file = corpus.url.appendingPathComponent("replication.txt")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: file.path)
        let summary = try await knowledge.ingest(["."], relativeTo: corpus.url)
        #expect(summary.unchanged == 3)
        #expect(summary.chunksAdded == 0)
    }

    @Test func badFilesAreSkippedWithReasonsAndTheRestIsIngested() async throws {
        let corpus = try makeCorpus()
        try corpus.write("blob.bin", Data([0x7F, 0x45, 0x4C, 0x46, 0x00, 0x01, 0x02, 0x00, 0xFF]))
        try corpus.write("paper.pdf", Data("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n".utf8))
        try corpus.write("latin1.txt", Data([0x43, 0x61, 0x66, 0xE9, 0x20, 0x63, 0x72, 0xE8, 0x6D, 0x65, 0x20, 0x62, 0x72, 0xFB, 0x6C, 0xE9, 0x65]))
        try FileManager.default.createSymbolicLink(atPath: corpus.url.appendingPathComponent("dangling.md").path,
                                                   withDestinationPath: "/nonexistent/ares/target.md")
        let data = try TemporaryDirectory()
        let knowledge = try open(data)
        let summary = try await knowledge.ingest(["."], relativeTo: corpus.url)
        let reasons = Dictionary(summary.skipped.map { ($0.path, $0.reason) }, uniquingKeysWith: { a, _ in a })
        #expect(reasons["blob.bin"]?.contains("binary") == true)
        #expect(reasons["paper.pdf"]?.lowercased().contains("pdf") == true)
        #expect(reasons["dangling.md"] != nil)
        #expect(summary.documents == 4, "the three good files and the Latin-1 one")
        #expect(summary.notes.contains { $0.path == "latin1.txt" && $0.reason.contains("Latin-1") })
        let latin = try await knowledge.search("café crème brûlée", limit: 1, mode: .keyword)
        #expect(latin.first?.passage.text == "Café crème brûlée")
    }

    @Test func emptyFolderAndMissingPath() async throws {
        let empty = try TemporaryDirectory("ares-empty")
        let data = try TemporaryDirectory()
        let knowledge = try open(data)
        let summary = try await knowledge.ingest(["."], relativeTo: empty.url)
        #expect(summary.filesSeen == 0)
        #expect(summary.documents == 0)
        let missing = try await knowledge.ingest(["no-such-folder"], relativeTo: empty.url)
        #expect(missing.skipped.first?.reason == "no such file or directory")
        #expect(try await knowledge.search("anything", limit: 3).isEmpty)
    }

    @Test func neighboursOfAPassageAreTheChunksAroundItInDocumentOrder() async throws {
        let corpus = try TemporaryDirectory("ares-corpus")
        // Four long sections: each becomes a chunk of its own, in this order.
        let sections = ["alpha", "bravo", "charlie", "delta"].map { word in
            "## Section \(word)\n\n" + Array(repeating: "The \(word) marker sentence fills this section with enough words to stand alone.", count: 13).joined(separator: " ")
        }
        try corpus.write("long.md", "# Long\n\n" + sections.joined(separator: "\n\n"))
        let data = try TemporaryDirectory()
        let knowledge = try open(data)
        _ = try await knowledge.ingest(["."], relativeTo: corpus.url)
        let bravo = try #require(try await knowledge.search("bravo", limit: 1, mode: .keyword).first?.passage)
        #expect(bravo.text.contains("bravo marker"))

        let around = try await knowledge.neighbors(of: bravo, before: 1, after: 1)
        #expect(around.count == 2)
        #expect(around.first?.text.contains("alpha marker") == true)
        #expect(around.last?.text.contains("charlie marker") == true)
        #expect(around.allSatisfy { $0.source == "long.md" && $0.chunkId != bravo.chunkId })
        #expect(zip(around, around.dropFirst()).allSatisfy { $0.start < $1.start }, "document order")

        let alpha = try #require(around.first)
        let charlie = try #require(around.last)
        // The first chunk has nothing before it: two after it are all there is to read.
        let afterAlpha = try await knowledge.neighbors(of: alpha, before: 1, after: 2)
        #expect(afterAlpha.map(\.chunkId) == [bravo.chunkId, charlie.chunkId])

        var gone = bravo
        gone.chunkId = "0000000000000000"
        #expect(try await knowledge.neighbors(of: gone, before: 2, after: 2).isEmpty)
    }

    @Test func aDataDirectoryThatCannotBeCreatedIsAClearError() throws {
        let scratch = try TemporaryDirectory()
        let file = try scratch.write("not-a-folder", "x")
        #expect {
            try KnowledgeBase(dataDirectory: file, embedder: HashingEmbedder(), access: .readWrite)
        } throws: { error in
            "\(error)".contains("is not a directory") && "\(error)".contains(file.path)
        }
        #expect {
            try KnowledgeBase(dataDirectory: file.appendingPathComponent("inside"), embedder: HashingEmbedder(), access: .readWrite)
        } throws: { error in
            "\(error)".contains("cannot write to the data directory")
        }
    }

    @Test func aDamagedIndexFileIsRebuiltFromSQLiteWithAWarning() async throws {
        let corpus = try makeCorpus()
        let data = try TemporaryDirectory()
        var expected: [String] = []
        do {
            let knowledge = try open(data)
            _ = try await knowledge.ingest(["."], relativeTo: corpus.url)
            expected = try await knowledge.search("autovacuum daemon", limit: 3).map(\.passage.chunkId)
        }
        let indexFile = data.url.appendingPathComponent("data/index.bin")
        var bytes = [UInt8](try Data(contentsOf: indexFile))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: indexFile)

        let reopened = try open(data, .readOnly)
        let warnings = await reopened.warnings
        #expect(warnings.contains { $0.contains("damaged") && $0.contains("rebuilt") })
        #expect(try await reopened.search("autovacuum daemon", limit: 3).map(\.passage.chunkId) == expected)
        // The reader saved the rebuilt snapshot, so the next start is clean again.
        #expect(await (try open(data, .readOnly)).warnings.isEmpty)

        try Data("garbage".utf8).write(to: indexFile)
        #expect(await (try open(data, .readOnly)).warnings.contains { $0.contains("damaged") })
    }

    @Test func aSecondWriterGetsAClearLockErrorWhileReadersWork() async throws {
        let corpus = try makeCorpus()
        let data = try TemporaryDirectory()
        let writer = try open(data)
        _ = try await writer.ingest(["."], relativeTo: corpus.url)
        #expect {
            try open(data)
        } throws: { error in
            "\(error)".contains("another ares process") && "\(error)".contains("pid \(getpid())")
        }
        let reader = try open(data, .readOnly)
        #expect(!(try await reader.search("GIN", limit: 1)).isEmpty)
    }

    @Test func theDocumentStoreSyncsEveryCommit() throws {
        let data = try TemporaryDirectory()
        let store = try DocumentStore(path: data.url.appendingPathComponent("k.sqlite").path)
        #expect(try store.writerSynchronousLevel() == 2, "PRAGMA synchronous = FULL")
    }

    @Test func rejectsOversizedQueriesAndLimits() async throws {
        let data = try TemporaryDirectory()
        let knowledge = try open(data)
        await #expect(throws: KnowledgeBaseError.self) { try await knowledge.search(String(repeating: "x", count: 10_001)) }
        await #expect(throws: KnowledgeBaseError.self) { try await knowledge.search("x", limit: 0) }
    }
}
