import Foundation
import Synchronization
import Testing
import ResearchCore
@testable import Agents

/// The LLM-backed researcher, evaluator and citation verifier against the fake chat endpoint
/// on loopback (Fixtures/fake_chat_server.py).
@Suite struct LanguageModelAgentsTests {
    typealias Endpoint = LanguageModelSynthesizerTests.FakeChatEndpoint

    static let walText = "WAL records are flushed to disk before the data pages change. Checkpoints bound recovery time."
    static let wal = Passage(chunkId: "w1", source: "wal.html", title: "WAL", headingPath: [], text: walText,
                             start: 100, end: 100 + walText.unicodeScalars.count)
    static let vacuum = Passage(chunkId: "v1", source: "vacuum.html", title: "VACUUM", headingPath: [],
                                text: "VACUUM does not reclaim space held by live tuples. It marks dead tuples reusable.", start: 0, end: 81)
    static let retrieval = RetrievalResearcher(retriever: FakeRetriever(passages: [wal, vacuum]))
    static let walQuestion = SubQuestion(id: "sq1", text: "when are WAL records flushed", queries: ["WAL records flushed"])

    // MARK: Researcher

    @Test func theModelPicksQuotedSentencesWithExactSpansAndInventedOnesAreDropped() async throws {
        let endpoint = try Endpoint(mode: "good")
        let findings = try await LanguageModelResearcher(model: endpoint.client(), fallback: Self.retrieval).findings(for: Self.walQuestion)
        #expect(findings.evidence.map(\.sentence) == ["WAL records are flushed to disk before the data pages change."])
        let evidence = try #require(findings.evidence.first)
        #expect(evidence.start == 100 && evidence.end == 161, "the span indexes the document: passage start plus offset")
        #expect(evidence.score == 0.9)
        #expect(!findings.evidence.contains { $0.sentence.contains("moon") })
        #expect(findings.notes == ["evidence chosen by openai-compatible:fake@127.0.0.1",
                                   "sentences the model quoted that occur in no passage were dropped"])
    }

    @Test func aQuoteIsFoundDespiteReflowedWhitespaceAndWidenedToWholeSentences() throws {
        let partial = try #require(LanguageModelResearcher.quote("records are\n  flushed to disk", in: Self.wal, subQuestionID: "sq1", score: 2))
        #expect(partial.sentence == "WAL records are flushed to disk before the data pages change.")
        #expect(partial.start == 100 && partial.end == 161 && partial.score == 1)
        let spanning = try #require(LanguageModelResearcher.quote("pages change. Checkpoints bound", in: Self.wal, subQuestionID: "sq1", score: 0.5))
        #expect(spanning.sentence == Self.walText)
        #expect(LanguageModelResearcher.quote("records are written to tape", in: Self.wal, subQuestionID: "sq1", score: 1) == nil)
        #expect(LanguageModelResearcher.quote("WAL records", in: Self.wal, subQuestionID: "sq1", score: 1) == nil, "too short to stand on")
    }

    @Test func aFailingOrRamblingModelLeavesTheEvidenceToTheBuiltInResearcher() async throws {
        let builtIn = try await Self.retrieval.research(Self.walQuestion)
        #expect(!builtIn.isEmpty)
        let down = try Endpoint(mode: "down")
        let fallback = try await LanguageModelResearcher(model: down.client(), fallback: Self.retrieval).findings(for: Self.walQuestion)
        #expect(fallback.evidence == builtIn)
        #expect(fallback.notes.count == 1)
        #expect(fallback.notes[0].hasPrefix("the language model could not pick evidence") && fallback.notes[0].contains("503"))
        let garbage = try Endpoint(mode: "garbage")
        let rambling = try await LanguageModelResearcher(model: garbage.client(), fallback: Self.retrieval).findings(for: Self.walQuestion)
        #expect(rambling.evidence == builtIn)
        #expect(rambling.notes.first?.contains("no JSON object") == true)
    }

    // MARK: Evaluator

    let subQuestions = [SubQuestion(id: "sq1", text: "when are WAL records flushed", queries: ["WAL"]),
                        SubQuestion(id: "sq2", text: "how do I tune the frobnicator", queries: ["frobnicator"])]
    var found: [String: [Evidence]] {
        let sentence = "WAL records are flushed to disk before the data pages change."
        return ["sq1": [Evidence(subQuestionID: "sq1", sentence: sentence, passage: Self.wal, start: 100, end: 161, score: 0.9)]]
    }

    @Test func theModelScoresCoverageAndReformulatesQueriesWithinTheRoundLimit() async throws {
        let endpoint = try Endpoint(mode: "good")
        let evaluator = LanguageModelEvaluator(model: endpoint.client(), fallback: CoverageEvaluator(maximumRounds: 2))
        let first = try await evaluator.evaluate(subQuestions: subQuestions, evidence: found, round: 1)
        #expect(first.coverage == 0.5)
        #expect(first.revisions == [SubQuestion(id: "sq2", text: "how do I tune the frobnicator", queries: ["how do I tune the frobnicator explained"])])
        #expect(first.reportNotes == ["coverage judged by openai-compatible:fake@127.0.0.1"])
        let last = try await evaluator.evaluate(subQuestions: subQuestions, evidence: found, round: 2)
        #expect(last.isSatisfied, "the built-in round limit holds for the model too")
        #expect(last.coverage == 0.5)
    }

    @Test func aFailingModelLeavesTheCritiqueToTheBuiltInEvaluatorAndSaysSo() async throws {
        let builtIn = try await CoverageEvaluator().evaluate(subQuestions: subQuestions, evidence: found, round: 1)
        let endpoint = try Endpoint(mode: "down")
        let critique = try await LanguageModelEvaluator(model: endpoint.client()).evaluate(subQuestions: subQuestions, evidence: found, round: 1)
        #expect(critique.coverage == builtIn.coverage && critique.revisions == builtIn.revisions)
        #expect(critique.reportNotes.count == 1)
        #expect(critique.reportNotes[0].hasPrefix("the language model could not judge the research") && critique.reportNotes[0].contains("503"))
    }

    // MARK: Citation verifier

    /// A report with a faithful claim, one whose negation was dropped (its terms all occur in
    /// the passage, so the quotation check passes it) and one invented outright.
    var report: ResearchReport {
        let wal = "WAL records are flushed to disk before the data pages change. [1]"
        let sections = [ResearchReport.Section(title: "WAL", text: wal, citations: [1]),
                        ResearchReport.Section(title: "VACUUM", text: "VACUUM reclaims space held by live tuples. [2] The moon is made of cheese. [2]", citations: [2])]
        let citations = [Citation(index: 1, passage: Self.wal), Citation(index: 2, passage: Self.vacuum)]
        return ResearchReport(answer: wal, sections: sections, citations: citations,
                              markdown: ResearchReport.renderMarkdown(question: "WAL and VACUUM?", answer: wal, sections: sections, citations: citations))
    }

    @Test func theModelCatchesWhatTheQuotationCheckLetsThrough() async throws {
        let (_, quotationOnly) = try await QuotationCitationChecker().verify(report)
        #expect(quotationOnly.flagged == ["The moon is made of cheese."], "word overlap passes the dropped negation")
        let endpoint = try Endpoint(mode: "good")
        let (verified, check) = try await LanguageModelCitationChecker(model: endpoint.client()).verify(report)
        #expect(check.flagged == ["The moon is made of cheese.", "VACUUM reclaims space held by live tuples."])
        #expect(check.supportedSentences == 2 && check.unsupportedSentences == 2)
        #expect(verified.sections[0].text == "WAL records are flushed to disk before the data pages change. [1]")
        #expect(!verified.markdown.contains("reclaims space") && !verified.markdown.contains("cheese"))
        #expect(verified.markdown.hasPrefix("# WAL and VACUUM?"))
        #expect(verified.notes == ["citations also checked by openai-compatible:fake@127.0.0.1; it judged 1 claim(s) unsupported, which were removed"])
    }

    @Test func aFailingModelLeavesTheQuotationCheckStandingAndSaysSo() async throws {
        let (quoted, quotationCheck) = try await QuotationCitationChecker().verify(report)
        let endpoint = try Endpoint(mode: "down")
        let (verified, check) = try await LanguageModelCitationChecker(model: endpoint.client()).verify(report)
        #expect(check == quotationCheck)
        #expect(verified.sections == quoted.sections)
        #expect(verified.notes.count == 1 && verified.notes[0].hasPrefix("the language model could not check citations"))
        #expect(verified.markdown.contains("> Note: the language model could not check citations"))
    }

    // MARK: A whole task

    func run(_ mode: String) async throws -> TaskState {
        let endpoint = try Endpoint(mode: mode)
        let model = endpoint.client()
        let workflow = ResearchWorkflow(agents: ResearchAgents(
            planner: HeuristicPlanner(), researcher: LanguageModelResearcher(model: model, fallback: Self.retrieval),
            evaluator: LanguageModelEvaluator(model: model), synthesizer: ExtractiveSynthesizer(),
            checker: LanguageModelCitationChecker(model: model)))
        let events = Mutex<[TaskEvent]>([.submitted(question: "When are WAL records flushed to disk?", principal: nil)])
        let final = try await workflow.run(from: try TaskState.fold(events.withLock { $0 })) { event in events.withLock { $0.append(event) } }
        #expect(try TaskState.fold(events.withLock { $0 }) == final, "the notes are in the log: a resume sees them")
        return final
    }

    @Test func aTaskWithTheModelAgentsSaysWhoDidWhat() async throws {
        let final = try await run("good")
        #expect(final.phase == .completed)
        let report = try #require(final.report)
        #expect(report.answer.contains("WAL records are flushed to disk before the data pages change. [1]"))
        #expect(!report.markdown.contains("moon"))
        #expect(report.notes.contains("evidence chosen by openai-compatible:fake@127.0.0.1"))
        #expect(report.notes.contains("coverage judged by openai-compatible:fake@127.0.0.1"))
        #expect(report.notes.contains { $0.hasPrefix("citations also checked by") })
    }

    @Test func aTaskWithTheModelDownCompletesWithTheBuiltInAgentsAndSaysSo() async throws {
        let final = try await run("down")
        #expect(final.phase == .completed)
        let report = try #require(final.report)
        #expect(report.answer.contains("WAL records are flushed to disk before the data pages change. [1]"))
        for note in ["the language model could not pick evidence", "the language model could not judge the research",
                     "the language model could not check citations"] {
            #expect(report.markdown.contains("> Note: \(note)"), "missing note: \(note)")
        }
        #expect(final.citationCheck?.unsupportedSentences == 0)
    }
}
