import Agents
import Foundation
import ResearchCore
import Storage
import Synchronization
import Testing
@testable import TaskService

/// Issue 12: evidence stored as references to passages (tag 14) and the citation check naming
/// the synthesized report instead of repeating it (tag 15), over a real SQLite event store and a
/// knowledge base fake whose passages a test removes or re-ingests.
@Suite struct EvidenceReferenceTests {
    /// A knowledge base in memory: the research agents' retriever and the text source of stored evidence.
    final class Knowledge: PassageRetriever, PassageTextSource {
        let passages: Mutex<[String: Passage]>

        init(_ passages: [Passage]) {
            self.passages = Mutex(Dictionary(passages.map { ($0.chunkId, $0) }, uniquingKeysWith: { first, _ in first }))
        }

        func retrieve(_ query: String, limit: Int) async throws -> [RetrievedPassage] {
            passages.withLock { stored in stored.values.sorted { $0.chunkId < $1.chunkId }.prefix(limit).map { RetrievedPassage(passage: $0, score: 1) } }
        }

        func passageTexts(chunkIds: Set<String>) async throws -> [String: String] {
            passages.withLock { stored in stored.filter { chunkIds.contains($0.key) }.mapValues(\.text) }
        }
    }

    static func passage(_ id: String, _ text: String) -> Passage {
        Passage(chunkId: id, source: "docs/\(id).md", title: "Page \(id)", headingPath: ["Tasks"], text: text, start: 100,
                end: 100 + text.unicodeScalars.count)
    }

    static let passages = [
        passage("c1", "Tasks are resumed from their last recorded step after a restart. A resumed task repeats no recorded step."),
        passage("c2", "Every step of a task is recorded as an event before the task moves on. The events form a hash chain."),
    ]
    static let question = "How are tasks resumed after a restart?"

    struct Engine {
        var path: String
        var knowledge: Knowledge
        var service: ResearchTaskService
    }

    static func engine() throws -> Engine {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ares-evidence-\(UUID().uuidString).sqlite").path
        let knowledge = Knowledge(passages)
        let agents = ResearchAgents(planner: HeuristicPlanner(), researcher: RetrievalResearcher(retriever: knowledge),
                                    evaluator: CoverageEvaluator(), synthesizer: ExtractiveSynthesizer(), checker: QuotationCitationChecker())
        let service = ResearchTaskService(store: try SQLiteEventStore(path: path), workflow: ResearchWorkflow(agents: agents), passages: knowledge)
        return Engine(path: path, knowledge: knowledge, service: service)
    }

    static func payloads(_ engine: Engine, _ id: String, type: String) async throws -> [Data] {
        try await engine.service.store.read(stream: id).filter { $0.type == type }.map(\.payload)
    }

    @Test func aFinishedTaskStoresNoPassageTextYetReadsBackTheStateItRan() async throws {
        let engine = try Self.engine()
        defer { try? FileManager.default.removeItem(atPath: engine.path) }
        let id = try await engine.service.submit(question: Self.question)
        let ran = try await engine.service.run(id)
        #expect(ran.phase == .completed)
        let evidence = ran.evidence.values.flatMap { $0 }
        #expect(!evidence.isEmpty, "the research found evidence")
        // Replayed from the store, with the text filled in from the knowledge base: the same state.
        #expect(try await engine.service.state(of: id) == ran)
        let resolved = try await engine.service.events(of: id).map(\.event)
        #expect(try TaskState.fold(resolved) == ran)

        let text = Data(Self.passages[0].text.utf8.prefix(40))
        for payload in try await Self.payloads(engine, id, type: "EvidenceFound") {
            #expect(payload.prefix(2) == Data([0xA1, 14]))
            #expect(payload.range(of: text) == nil, "evidence stores no passage text")
        }
        let verified = try #require(try await Self.payloads(engine, id, type: "CitationsVerified").first)
        #expect(verified.prefix(2) == Data([0xA1, 15]), "the check names the synthesized report")
        #expect(verified.range(of: text) == nil, "the check does not repeat the report's sources")
        #expect(verified.count < 200, "a check that changed nothing stores its verdicts only (\(verified.count) bytes)")
        let synthesized = try #require(try await Self.payloads(engine, id, type: "ReportSynthesized").first)
        #expect(synthesized.range(of: text) != nil, "the report, stored once, keeps its sources whole")
    }

    @Test func evidenceWhosePassageIsGoneOrChangedSaysSoAndShowsNoOtherText() async throws {
        let engine = try Self.engine()
        defer { try? FileManager.default.removeItem(atPath: engine.path) }
        let id = try await engine.service.submit(question: Self.question)
        let ran = try await engine.service.run(id)
        let report = try #require(ran.report)
        // c1's document removed; c2's re-ingested with other text under the same chunk id.
        engine.knowledge.passages.withLock { stored in
            stored["c1"] = nil
            stored["c2"]?.text = "Other text now stands here. It was never found as evidence."
        }
        let read = try await engine.service.state(of: id)
        let evidence = read.evidence.values.flatMap { $0 }
        #expect(evidence.count == ran.evidence.values.flatMap { $0 }.count)
        for item in evidence {
            #expect(item.passage.text == Passage.noLongerInKnowledgeBase)
            #expect(item.sentence == Passage.noLongerInKnowledgeBase, "a sentence read from the passage is gone with it")
            #expect(!item.passage.text.contains("Other text"))
        }
        #expect(read.report == report, "the report, stored once, stays complete")
        #expect(read.phase == .completed)
    }

    /// A crash between steps (the step not recorded), then a resume: the same report as a task
    /// that ran through, whichever step the crash came before.
    @Test(arguments: ["ReportSynthesized", "CitationsVerified", "TaskCompleted"])
    func aTaskResumedAfterACrashWritesTheSameReport(crashBefore: String) async throws {
        let engine = try Self.engine()
        defer { try? FileManager.default.removeItem(atPath: engine.path) }
        let through = try await engine.service.run(try await engine.service.submit(question: Self.question))
        let id = try await engine.service.submit(question: Self.question)
        struct Crash: Error {}
        await #expect(throws: Crash.self) {
            _ = try await engine.service.run(id, beforeRecording: { if $0.typeName == crashBefore { throw Crash() } })
        }
        #expect(try await engine.service.state(of: id).isTerminal == false)
        // A new service over the same store: nothing carried over in memory.
        let agents = ResearchAgents(planner: HeuristicPlanner(), researcher: RetrievalResearcher(retriever: engine.knowledge),
                                    evaluator: CoverageEvaluator(), synthesizer: ExtractiveSynthesizer(), checker: QuotationCitationChecker())
        let restarted = ResearchTaskService(store: try SQLiteEventStore(path: engine.path), workflow: ResearchWorkflow(agents: agents),
                                            passages: engine.knowledge)
        let resumed = try await restarted.run(id)
        #expect(resumed.phase == .completed)
        #expect(resumed.report == through.report)
        #expect(resumed.citationCheck == through.citationCheck)
        #expect(try await restarted.state(of: id).report == through.report)
        let verified = try #require(try await Self.payloads(engine, id, type: "CitationsVerified").first)
        #expect(verified.prefix(2) == Data([0xA1, 15]), "a resumed task also names the synthesized report")
    }

    static let report = TaskEventCodecTests.report

    @Test func aCheckNamingAnotherReportOrReadOutOfOrderDoesNotDecode() throws {
        let check = CitationCheck(supportedSentences: 1, unsupportedSentences: 0, flagged: [])
        var verified = Self.report
        verified.answer = "Shorter."
        let payload = TaskEventCodec.encode(.citationsVerified(check, report: verified),
                                            context: .init(question: "q", synthesized: Self.report))
        #expect(payload.prefix(2) == Data([0xA1, 15]))
        // Read after its report: the report comes back whole, Markdown included.
        var decoder = TaskEventStreamDecoder()
        _ = try decoder.decode(TaskEventCodec.encode(.submitted(question: "q", principal: nil)))
        _ = try decoder.decode(TaskEventCodec.encode(.synthesized(Self.report)))
        #expect(try decoder.decode(payload).event == .citationsVerified(check, report: verified))
        // Alone, or after another report: refused, never a report with other sources.
        #expect { try TaskEventCodec.decode(payload) } throws: { "\($0)".contains("without the task's ReportSynthesized") }
        var other = Self.report
        other.citations[0].passage.title = "another page"
        var misled = TaskEventStreamDecoder(context: .init(question: "q", synthesized: other))
        #expect { try misled.decode(payload) } throws: { "\($0)".contains("other than the one recorded before it") }
        for cut in 2..<payload.count {
            var fresh = TaskEventStreamDecoder(context: .init(question: "q", synthesized: Self.report))
            #expect(throws: (any Error).self) { try fresh.decode(payload.prefix(cut)) }
        }
        // A check that changed the sources is written whole (tag 7), as before.
        var resourced = verified
        resourced.citations = []
        let whole = TaskEventCodec.encode(.citationsVerified(check, report: resourced), context: .init(question: "q", synthesized: Self.report))
        #expect(whole.prefix(2) == Data([0xA1, 7]))
        #expect(try TaskEventCodec.decode(whole) == .citationsVerified(check, report: resourced))
    }

    @Test func aSynthesizedReportIsStoredWithoutTheMarkdownItsQuestionRendersTo() throws {
        var report = Self.report
        report.markdown = ResearchReport.renderMarkdown(question: "How?", answer: report.answer, sections: report.sections,
                                                        citations: report.citations, notes: report.notes)
        let payload = TaskEventCodec.encode(.synthesized(report), context: .init(question: "How?"))
        #expect(payload.prefix(2) == Data([0xA1, 16]))
        #expect(payload.count < TaskEventCodec.encode(.synthesized(report)).count)
        #expect(payload.range(of: Data("# How?".utf8)) == nil)
        var decoder = TaskEventStreamDecoder()
        _ = try decoder.decode(TaskEventCodec.encode(.submitted(question: "How?", principal: nil)))
        #expect(try decoder.decode(payload).event == .synthesized(report))
        #expect { try TaskEventCodec.decode(payload) } throws: { "\($0)".contains("without the task's TaskSubmitted") }
        // Markdown that is not the rendered form is kept as written.
        var edited = report
        edited.markdown += "\n(edited)"
        let kept = TaskEventCodec.encode(.synthesized(edited), context: .init(question: "How?"))
        #expect(try TaskEventStreamDecoder(context: .init(question: "How?")).decoding(kept) == .synthesized(edited))
        #expect(try TaskEventCodec.decode(kept) == .synthesized(edited))
    }

    @Test func aSentenceThatIsNotThePassagesTextAtItsSpanIsKeptAndEachPassageStoredOnce() throws {
        let passage = TaskEventCodecTests.passage
        let evidence = [
            Evidence(subQuestionID: "sq1", sentence: "WAL records are flushed first.", passage: passage, start: 3, end: 33, score: 0.5),
            Evidence(subQuestionID: "sq1", sentence: "a paraphrase the model wrote", passage: passage, start: 3, end: 33, score: 0.25),
            Evidence(subQuestionID: "sq1", sentence: "offsets outside the passage", passage: passage, start: -5, end: 900, score: 0),
        ]
        let event = TaskEvent.evidenceFound(subQuestionID: "sq1", round: 1, evidence: evidence, notes: ["n"])
        let payload = TaskEventCodec.encode(event)
        #expect(payload.range(of: Data("WAL records are flushed first.".utf8)) == nil, "a sentence at its span is not stored")
        #expect(payload.range(of: Data("a paraphrase the model wrote".utf8)) != nil)
        #expect(payload.range(of: Data(passage.title.utf8))?.lowerBound == payload.lastRange(of: Data(passage.title.utf8))?.lowerBound,
                "the passage is stored once for all its evidence")
        let decoded = try TaskEventCodec.decode(payload, context: .init())
        #expect(EvidenceReference.resolve(decoded.event, references: decoded.references, texts: [passage.chunkId: passage.text]) == event)
        // With the passage gone, the kept sentences stay; the one read from the passage is gone.
        guard case let .evidenceFound(_, _, gone, _) = EvidenceReference.resolve(decoded.event, references: decoded.references, texts: [:]) else {
            Issue.record("not evidence")
            return
        }
        #expect(gone.map(\.sentence) == [Passage.noLongerInKnowledgeBase, "a paraphrase the model wrote", "offsets outside the passage"])
        #expect(gone.allSatisfy { $0.passage.text == Passage.noLongerInKnowledgeBase })
        // Every cut of the payload, and trailing bytes, throw.
        var damaged = [UInt8](payload)
        for cut in 2..<payload.count {
            #expect(throws: (any Error).self) { try TaskEventCodec.decode(Data(damaged.prefix(cut))) }
        }
        damaged.append(0)
        #expect(throws: (any Error).self) { try TaskEventCodec.decode(Data(damaged)) }
    }
}
