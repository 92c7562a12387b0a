import Foundation
import GRDB
import Testing
import Knowledge
import ResearchCore
@testable import Agents

/// What a hostile model endpoint answers, or a damaged knowledge base holds, ends in an error
/// or a fallback, never a trap.
@Suite struct AgentsHostileInputTests {
    /// A model that always gives the same reply.
    struct CannedModel: LanguageModel {
        var reply: String
        var identity: String { "canned" }
        func complete(_ messages: [ChatMessage], maxTokens: Int) async throws -> String { reply }
    }

    static let walText = "WAL records are flushed to disk before the data pages change. Checkpoints bound recovery time."
    static let wal = Passage(chunkId: "w1", source: "wal.html", title: "WAL", headingPath: [], text: walText,
                             start: 0, end: walText.unicodeScalars.count)
    static let question = SubQuestion(id: "sq1", text: "when are WAL records flushed", queries: ["WAL records flushed"])

    @Test func passageNumbersAtTheEdgesOfIntAreDroppedNotComputedWith() async throws {
        let sentence = "WAL records are flushed to disk before the data pages change."
        for number in [Int.min, -1, 0, 2, Int.max] {
            let model = CannedModel(reply: #"{"evidence": [{"passage": \#(number), "sentence": "\#(sentence)"}]}"#)
            let researcher = LanguageModelResearcher(model: model, fallback: RetrievalResearcher(retriever: FakeRetriever(passages: [Self.wal])))
            let findings = try await researcher.findings(for: Self.question)
            #expect(findings.notes.first?.contains("could not pick evidence") == true, "passage \(number): the built-in researcher picks")
        }
        let good = CannedModel(reply: #"{"evidence": [{"passage": 1, "sentence": "\#(sentence)"}]}"#)
        let findings = try await LanguageModelResearcher(model: good, fallback: RetrievalResearcher(retriever: FakeRetriever(passages: [Self.wal])))
            .findings(for: Self.question)
        #expect(findings.evidence.map(\.sentence) == [sentence])
    }

    @Test func aStoredPassageOffsetNearIntMaxIsRefusedByTheStoreNotOverflowedByTheResearcher() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ares-agents-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let corpus = root.appendingPathComponent("corpus")
        try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
        try Data(Self.walText.utf8).write(to: corpus.appendingPathComponent("wal.txt"))
        let data = root.appendingPathComponent("data")
        do {
            let knowledge = try KnowledgeBase(dataDirectory: data, embedder: HashingEmbedder(), access: .readWrite)
            _ = try await knowledge.ingest(["wal.txt"], relativeTo: corpus)
        }
        let tamper = try DatabaseQueue(path: data.appendingPathComponent(KnowledgeBase.databaseFileName).path)
        try await tamper.write { db in try db.execute(sql: "UPDATE chunk SET startOffset = 9223372036854775800") }
        let knowledge = try KnowledgeBase(dataDirectory: data, embedder: HashingEmbedder(), access: .readOnly)
        await #expect(throws: DocumentStoreError.self) { try await RetrievalResearcher(retriever: knowledge).findings(for: Self.question) }
    }
}
