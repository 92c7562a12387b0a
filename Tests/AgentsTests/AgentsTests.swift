import Testing
import ResearchCore
@testable import Agents

/// An in-memory retriever: passages containing any query word, best match first.
struct FakeRetriever: PassageRetriever {
    var passages: [Passage]
    func retrieve(_ query: String, limit: Int) async throws -> [RetrievedPassage] {
        let words = Set(query.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init))
        var scored: [RetrievedPassage] = []
        for passage in passages {
            let passageWords = passage.text.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init)
            let matches = passageWords.filter { words.contains($0) }.count
            if matches > 0 { scored.append(RetrievedPassage(passage: passage, score: Double(matches))) }
        }
        scored.sort { $0.score > $1.score }
        return Array(scored.prefix(limit))
    }
}

@Suite struct HeuristicPlannerTests {
    @Test func compoundQuestionsBecomeSeveralSubQuestions() async throws {
        let plan = try await HeuristicPlanner().plan(question: "What is write-ahead logging and how do I tune it?")
        #expect(plan.subQuestions.map(\.text) == ["What is write-ahead logging", "how do I tune it"])
        #expect(plan.subQuestions.map(\.id) == ["sq1", "sq2"])
        // "it" leans on the first part: its queries carry the subject along.
        #expect(plan.subQuestions[1].queries.contains("write-ahead logging how do I tune it"))

        let two = try await HeuristicPlanner().plan(question: "How does VACUUM work? Why is autovacuum needed?")
        #expect(two.subQuestions.count == 2)
        let single = try await HeuristicPlanner().plan(question: "How do salt and pepper differ?")
        #expect(single.subQuestions.count == 1, "an 'and' inside one question does not split it")
        #expect(single.subQuestions[0].queries == ["How do salt and pepper differ"])
    }

    @Test func manyPartsAreCapped() async throws {
        let question = (1...10).map { "what is topic\($0)" }.joined(separator: "? ") + "?"
        let plan = try await HeuristicPlanner(maximumSubQuestions: 4).plan(question: question)
        #expect(plan.subQuestions.count == 4)
    }
}

@Suite struct RetrievalResearcherTests {
    @Test func extractsTheAnsweringSentencesWithExactSpans() async throws {
        let text = "PostgreSQL has many parts. WAL records are flushed to disk before the data pages change. The weather is nice."
        let passage = Passage(chunkId: "c1", source: "wal.html", title: "WAL", headingPath: [], text: text, start: 100, end: 100 + text.unicodeScalars.count)
        let other = Passage(chunkId: "c2", source: "misc.html", title: "Misc", headingPath: [], text: "Nothing relevant here at all.", start: 0, end: 29)
        let researcher = RetrievalResearcher(retriever: FakeRetriever(passages: [passage, other]))
        let evidence = try await researcher.research(SubQuestion(id: "sq1", text: "when are WAL records flushed to disk", queries: ["WAL records flushed"]))
        let best = try #require(evidence.first)
        #expect(best.sentence == "WAL records are flushed to disk before the data pages change.")
        #expect(best.subQuestionID == "sq1")
        #expect(best.passage.chunkId == "c1")
        // The span indexes the document text: passage start plus the sentence's offset.
        let sentenceStart = 27
        #expect(best.start == 100 + sentenceStart)
        #expect(best.end - best.start == best.sentence.unicodeScalars.count)
        #expect(!evidence.contains { $0.sentence.contains("weather") })
    }

    @Test func noPassagesMeansNoEvidence() async throws {
        let researcher = RetrievalResearcher(retriever: FakeRetriever(passages: []))
        #expect(try await researcher.research(SubQuestion(id: "a", text: "anything at all", queries: ["anything"])).isEmpty)
    }

    @Test func sentencesCarryTheirSpans() {
        let sentences = SentenceSplitter.sentences(in: "First one. Second? Third!\n\nFourth without end")
        #expect(sentences.map(\.text) == ["First one.", "Second?", "Third!", "Fourth without end"])
        #expect(sentences[1].start == 11 && sentences[1].end == 18)
        #expect(SentenceSplitter.sentences(in: "  ").isEmpty)
        #expect(SentenceSplitter.sentences(in: "Version 8.3 added it.").count == 1)
        #expect(SentenceSplitter.sentences(in: "(Reads go on while it runs.) VACUUM FULL locks.").map(\.text)
            == ["(Reads go on while it runs.)", "VACUUM FULL locks."])
    }
}

@Suite struct EvaluateSynthesizeVerifyTests {
    let walPassage = Passage(chunkId: "c1", source: "wal.html", title: "WAL", headingPath: ["WAL"],
                             text: "WAL records are flushed to disk before the data pages change. Checkpoints bound recovery time.", start: 0, end: 96)
    let vacuumPassage = Passage(chunkId: "c2", source: "vacuum.html", title: "VACUUM", headingPath: [],
                                text: "VACUUM reclaims storage occupied by dead tuples.", start: 0, end: 48)

    func evidence(_ id: String, _ sentence: String, _ passage: Passage, _ score: Double) -> Evidence {
        Evidence(subQuestionID: id, sentence: sentence, passage: passage, start: 0, end: sentence.unicodeScalars.count, score: score)
    }

    var plan: ResearchPlan {
        ResearchPlan(subQuestions: [
            SubQuestion(id: "sq1", text: "when is WAL flushed", queries: ["WAL flushed"]),
            SubQuestion(id: "sq2", text: "what does VACUUM reclaim", queries: ["VACUUM reclaim"]),
            SubQuestion(id: "sq3", text: "how do I tune the frobnicator", queries: ["frobnicator"]),
        ])
    }

    var found: [String: [Evidence]] {
        ["sq1": [evidence("sq1", "WAL records are flushed to disk before the data pages change.", walPassage, 0.9)],
         "sq2": [evidence("sq2", "VACUUM reclaims storage occupied by dead tuples.", vacuumPassage, 0.8)]]
    }

    @Test func evaluatorSendsUncoveredSubQuestionsBackUntilTheRoundLimit() async throws {
        let evaluator = CoverageEvaluator(threshold: 0.4, maximumRounds: 2)
        let first = try await evaluator.evaluate(subQuestions: plan.subQuestions, evidence: found, round: 1)
        #expect(abs(first.coverage - 2.0 / 3.0) < 1e-9)
        #expect(first.revisions.map(\.id) == ["sq3"])
        #expect(first.revisions[0].queries.first == "tune frobnicator")
        let last = try await evaluator.evaluate(subQuestions: plan.subQuestions, evidence: found, round: 2)
        #expect(last.isSatisfied, "the loop always ends at the round limit")
        #expect(last.notes.contains { $0.contains("round limit") })
    }

    @Test func synthesizerCitesEverySentenceAndNumbersSources() async throws {
        let report = try await ExtractiveSynthesizer().synthesize(question: "WAL and VACUUM?", plan: plan, evidence: found)
        #expect(report.citations.map(\.index) == [1, 2])
        #expect(report.citations.map(\.passage.chunkId) == ["c1", "c2"])
        #expect(report.sections.count == 3)
        #expect(report.sections[0].text == "WAL records are flushed to disk before the data pages change. [1]")
        #expect(report.sections[0].citations == [1])
        #expect(report.sections[2].citations.isEmpty)
        #expect(report.answer.contains("[1]") && report.answer.contains("[2]"))
        #expect(report.markdown.contains("## Sources"))
        #expect(report.markdown.contains("1. WAL — wal.html (c1)"), "a heading equal to the title is not repeated")
    }

    @Test func verifierKeepsQuotedClaimsAndDropsUnsupportedOnes() async throws {
        var report = try await ExtractiveSynthesizer().synthesize(question: "WAL and VACUUM?", plan: plan, evidence: found)
        let (verified, check) = try await QuotationCitationChecker().verify(report)
        #expect(check.unsupportedSentences == 0)
        #expect(check.supportedSentences == 4, "two section sentences and the two answer sentences")
        #expect(verified.sections == report.sections)

        report.sections[0].text += " The moon is made of cheese. [1] Checkpoints bound recovery time. [2][1]"
        let (edited, editedCheck) = try await QuotationCitationChecker().verify(report)
        #expect(editedCheck.flagged == ["The moon is made of cheese."])
        #expect(!edited.sections[0].text.contains("cheese"))
        #expect(edited.sections[0].text.hasSuffix("Checkpoints bound recovery time. [2][1]"), "supported by one of its two sources")
    }
}
