import BinaryCoding
import Foundation
import GRDB
import Testing
@testable import Knowledge

/// Damaged or hostile data the knowledge base reads back (the index snapshot, the SQLite store)
/// or receives (an embedder's answer) must end in an error or a handled case, never a trap.
@Suite struct HostileInputTests {
    static let text = """
        The VACUUM command reclaims storage occupied by dead tuples and updates planner statistics.

        The autovacuum daemon automates the execution of VACUUM and ANALYZE commands.
        """

    /// A data directory with one ingested document; returns (corpus, data, data directory URL).
    func ingested() async throws -> (TemporaryDirectory, TemporaryDirectory, URL) {
        let corpus = try TemporaryDirectory("ares-corpus")
        try corpus.write("vacuum.txt", Self.text)
        let data = try TemporaryDirectory()
        let directory = data.url.appendingPathComponent("data")
        let knowledge = try KnowledgeBase(dataDirectory: directory, embedder: HashingEmbedder(), access: .readWrite)
        _ = try await knowledge.ingest(["vacuum.txt"], relativeTo: corpus.url)
        return (corpus, data, directory)
    }

    func tamper(_ directory: URL, _ sql: String...) throws {
        let queue = try DatabaseQueue(path: directory.appendingPathComponent(KnowledgeBase.databaseFileName).path)
        try queue.write { db in for statement in sql { try db.execute(sql: statement) } }
        // The snapshot would hide the change: make the next open rebuild from the store.
        try? FileManager.default.removeItem(at: directory.appendingPathComponent(KnowledgeBase.snapshotFileName))
    }

    @Test func aSnapshotIDPastInt64MaxMatchesNoChunk() async throws {
        let (corpus, data, directory) = try await ingested()
        defer { withExtendedLifetime((corpus, data)) {} }
        let file = IndexSnapshotFile(url: directory.appendingPathComponent(KnowledgeBase.snapshotFileName))
        var contents = try #require(try file.read())
        // A checksum is no defence against a crafted file: write one with a valid checksum.
        contents.keyword.add(id: UInt64.max, terms: TextAnalyzer().terms("vacuum reclaims storage"))
        try contents.vectors.insert(id: UInt64.max, vector: HashingEmbedder().embedOne("vacuum reclaims storage"))
        try file.write(contents)

        let knowledge = try KnowledgeBase(dataDirectory: directory, embedder: HashingEmbedder(), access: .readOnly)
        #expect(await knowledge.warnings.isEmpty, "the crafted snapshot is the one in use")
        for mode in SearchMode.allCases {
            let results = try await knowledge.search("vacuum reclaims storage", limit: 5, mode: mode)
            #expect(!results.isEmpty && results.allSatisfy { $0.passage.source == "vacuum.txt" }, "mode \(mode)")
        }
    }

    @Test func negativeChunkIDsInTheStoreRoundTrip() async throws {
        let (corpus, data, directory) = try await ingested()
        defer { withExtendedLifetime((corpus, data)) {} }
        try tamper(directory, "UPDATE chunk SET id = -id")
        let knowledge = try KnowledgeBase(dataDirectory: directory, embedder: HashingEmbedder(), access: .readWrite)
        #expect(try await knowledge.search("dead tuples", limit: 3, mode: .keyword).first?.passage.source == "vacuum.txt")
        // Re-ingesting a changed file removes the chunks with negative ids.
        try corpus.write("vacuum.txt", "VACUUM FULL rewrites the whole table into a new file and takes an exclusive lock.")
        let summary = try await knowledge.ingest(["vacuum.txt"], relativeTo: corpus.url)
        #expect(summary.updated == 1 && summary.chunksRemoved >= 1)
        #expect(try await knowledge.search("dead tuples", limit: 3, mode: .keyword).isEmpty)
        #expect(try await knowledge.search("exclusive lock", limit: 3, mode: .keyword).count == 1)
    }

    @Test func aNullColumnInTheStoreThrows() async throws {
        let (corpus, data, directory) = try await ingested()
        defer { withExtendedLifetime((corpus, data)) {} }
        // CREATE TABLE … AS SELECT drops the NOT NULL constraints a crafted file would not have.
        try tamper(directory, "CREATE TABLE loose AS SELECT * FROM chunk", "DROP TABLE chunk",
                   "ALTER TABLE loose RENAME TO chunk", "UPDATE chunk SET text = NULL")
        #expect(throws: (any Error).self) {
            _ = try KnowledgeBase(dataDirectory: directory, embedder: HashingEmbedder(), access: .readOnly)
        }
    }

    @Test func impossibleChunkOffsetsAndOrdinalsAreRefusedOrHandled() async throws {
        let (corpus, data, directory) = try await ingested()
        defer { withExtendedLifetime((corpus, data)) {} }
        try tamper(directory, "UPDATE chunk SET startOffset = 9223372036854775807, ordinal = -9223372036854775808")
        let knowledge = try KnowledgeBase(dataDirectory: directory, embedder: HashingEmbedder(), access: .readOnly)
        await #expect { try await knowledge.search("dead tuples", limit: 3, mode: .keyword) } throws: { error in
            error is DocumentStoreError && "\(error)".contains("offsets")
        }
        let store = try DocumentStore(path: directory.appendingPathComponent(KnowledgeBase.databaseFileName).path, readOnly: true)
        let key = try #require(try await DatabaseQueue(path: store.path).read { try String.fetchOne($0, sql: "SELECT chunkKey FROM chunk") })
        #expect(try store.passages(around: key, before: 1, after: 1).isEmpty, "an ordinal at Int.min does not overflow")
    }

    @Test func aNonFiniteStoredVectorIsLeftOutOfTheRebuiltIndex() async throws {
        let (corpus, data, directory) = try await ingested()
        defer { withExtendedLifetime((corpus, data)) {} }
        let nanVector = String(repeating: "0000C07F", count: HashingEmbedder().dimension)
        try tamper(directory, "UPDATE chunk SET embedding = X'\(nanVector)'")
        let knowledge = try KnowledgeBase(dataDirectory: directory, embedder: HashingEmbedder(), access: .readOnly)
        #expect(try await knowledge.search("dead tuples", limit: 3, mode: .keyword).first?.passage.source == "vacuum.txt")
        #expect(try await knowledge.search("dead tuples", limit: 3, mode: .vector).isEmpty)
    }

    /// An embedder that answers with fewer vectors than it was given texts.
    struct ShortEmbedder: Embedder {
        var identity: String { "short-d8" }
        var dimension: Int { 8 }
        func embed(_ texts: [String]) async throws -> [[Float]] { Array(repeating: [Float](repeating: 0.5, count: 8), count: texts.count / 2) }
    }

    @Test func anEmbedderAnsweringTooFewVectorsSkipsTheFile() async throws {
        let corpus = try TemporaryDirectory("ares-corpus")
        try corpus.write("vacuum.txt", Self.text)
        let data = try TemporaryDirectory()
        let knowledge = try KnowledgeBase(dataDirectory: data.url, embedder: ShortEmbedder(), access: .readWrite)
        let summary = try await knowledge.ingest(["vacuum.txt"], relativeTo: corpus.url)
        #expect(summary.added == 0)
        #expect(summary.skipped.map(\.path) == ["vacuum.txt"])
        #expect(summary.skipped.first?.reason.contains("vectors for") == true)
    }

    @Test func aHugeHeadingIsNotRepeatedInFullWithEveryPassage() async throws {
        // A 300 kB heading spans hundreds of passages; each used to carry (and index,
        // and store) all of it: a few MB more of file made gigabytes. Titles and headings are cut.
        let heading = (0..<60_000).map { "w\($0 % 97)" }.joined(separator: " ")
        let corpus = try TemporaryDirectory("ares-corpus")
        try corpus.write("huge.md", "# \(heading)\n\nThe body says that VACUUM reclaims storage.\n")
        let data = try TemporaryDirectory()
        let knowledge = try KnowledgeBase(dataDirectory: data.url, embedder: HashingEmbedder(), access: .readWrite)
        let summary = try await knowledge.ingest(["huge.md"], relativeTo: corpus.url)
        #expect(summary.added == 1 && summary.chunks > 100)
        let store = try DocumentStore(path: data.url.appendingPathComponent(KnowledgeBase.databaseFileName).path, readOnly: true)
        var longest = 0
        try store.forEachChunk { chunk in longest = max(longest, chunk.title.count, chunk.headingPath.map(\.count).max() ?? 0) }
        #expect(longest == DocumentPreparer.maximumLabelLength)
        #expect(try await knowledge.search("vacuum reclaims storage", limit: 1, mode: .keyword).first?.passage.text.contains("VACUUM") == true)
    }

    @Test func aBM25VocabularyCountIsCheckedAgainstTheBytesATermNeeds() throws {
        var writer = BinaryWriter()
        writer.write(BM25Index.formatVersion)
        writer.write(Float(1.2))
        writer.write(Float(0.75))
        writer.write(array: [UInt64](), countPrefix: UInt64.self)
        writer.write(array: [UInt32](), countPrefix: UInt64.self)
        writer.write(UInt64(64))  // 64 terms claimed, 64 bytes left: room for 3.
        for _ in 0..<64 { writer.write(UInt8(0)) }
        #expect { try BM25Index(serialized: writer.bytes) } throws: { "\($0)".contains("vocabulary size 64 exceeds the file") }
    }
}
