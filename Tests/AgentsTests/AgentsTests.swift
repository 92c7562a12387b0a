import Testing
import Knowledge
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

    @Test func onlyStatementsAreEvidence() {
        #expect(RetrievalResearcher.isStatement("The jsonb type stores data in a decomposed binary format."))
        #expect(RetrievalResearcher.isStatement("(Indexes are rebuilt while it runs.)"))
        #expect(RetrievalResearcher.isStatement("Grant read access to everyone on table films:"))
        // An index page's list of names, a heading and a line of code are not.
        #expect(!RetrievalResearcher.isStatement("jsonb_insert, Processing JSON jsonb_object, Processing JSON jsonb_keys, Aggregate Functions jsonb_path, JSON"))
        #expect(!RetrievalResearcher.isStatement("8.14. JSON Types"))
        #expect(!RetrievalResearcher.isStatement("GRANT SELECT ON films TO PUBLIC;"))
        #expect(!RetrievalResearcher.isStatement("a, b, c, d, e, f, g and h are the columns."))
    }

    @Test func tableRowsLabelledAtIngestAreStatements() {
        // Rows as TableRowLabeler writes them: first cell, " — ", "Header: value" cells.
        #expect(RetrievalResearcher.isStatement("relation size — Upper Limit: 32 TB; Comment: with the default BLCKSZ"))
        #expect(RetrievalResearcher.isStatement("max_connections — Default: 100"))
        #expect(RetrievalResearcher.isStatement("Upper Limit: 32 TB; Comment: with the default BLCKSZ"))
        // Not rows: a header row or unlabelled row (" | "), prose with one label, a line break, an empty stub or value.
        #expect(!RetrievalResearcher.isStatement("Item | Upper Limit | Comment"))
        #expect(!RetrievalResearcher.isStatement("Note: see the next chapter"))
        #expect(!RetrievalResearcher.isStatement("size — Limit: 32\nTB; Comment: x y"))
        #expect(!RetrievalResearcher.isStatement(" — Upper Limit: 32 TB"))
        #expect(!RetrievalResearcher.isStatement("relation size — Upper Limit: "))
        #expect(!LabelledTableRow.matches("relation size — 32 TB"))
    }

    /// Corpus statistics in which "difference" is everywhere and "jsonb" rare.
    struct FakeStatistics: CorpusStatistics {
        var frequencies: [String: Int]
        func documentFrequencies(of terms: [String]) async throws -> (passages: Int, frequencies: [String: Int]) {
            (1000, frequencies.filter { terms.contains($0.key) })
        }
    }

    @Test func rareQuestionWordsWeighMoreThanCommonOnes() async throws {
        let text = "The difference in speed is small for most tables. Values of jsonb are stored decomposed in binary."
        let passage = Passage(chunkId: "c1", source: "json.html", title: "JSON", headingPath: [], text: text, start: 0, end: text.unicodeScalars.count)
        let subQuestion = SubQuestion(id: "sq1", text: "what is the difference of jsonb", queries: ["difference jsonb"])
        let retriever = FakeRetriever(passages: [passage])
        // Every word counts the same: a tie, broken by order in the passage.
        let plain = try await RetrievalResearcher(retriever: retriever, minimumOverlap: 0.05).research(subQuestion)
        #expect(plain.map(\.score).count == 2 && plain[0].score == plain[1].score)
        let weighted = try await RetrievalResearcher(
            retriever: retriever, statistics: FakeStatistics(frequencies: ["differ": 600, "jsonb": 3]), minimumOverlap: 0.05).research(subQuestion)
        #expect(weighted.first?.sentence == "Values of jsonb are stored decomposed in binary.")
        #expect(weighted[0].score > weighted[1].score)
        // A word the corpus lacks (a typo here) weighs nothing instead of outweighing the rest.
        let typo = SubQuestion(id: "sq1", text: "what is the difference of jsonb jsnob", queries: ["difference jsonb jsnob"])
        let despiteTypo = try await RetrievalResearcher(
            retriever: retriever, statistics: FakeStatistics(frequencies: ["differ": 600, "jsonb": 3])).research(typo)
        #expect(despiteTypo.first?.sentence == "Values of jsonb are stored decomposed in binary.")
    }

    /// Passages next to each other in one document, keyed by chunk id.
    struct FakeNeighborhood: PassageNeighborhood {
        var documentOrder: [Passage]
        func neighbors(of passage: Passage, before: Int, after: Int) async throws -> [Passage] {
            guard let index = documentOrder.firstIndex(where: { $0.chunkId == passage.chunkId }) else { return [] }
            let low = max(0, index - before), high = min(documentOrder.count - 1, index + after)
            return (low...high).filter { $0 != index }.map { documentOrder[$0] }
        }
    }

    @Test func readsOnAroundTheBestHits() async throws {
        func passage(_ id: String, _ text: String) -> Passage {
            Passage(chunkId: id, source: "json.html", title: "JSON Types", headingPath: ["JSON Types"], text: text, start: 0, end: text.unicodeScalars.count)
        }
        let contents = passage("toc", "JSON Types: jsonb Containment, jsonb Indexing, jsonb Subscripting")
        let intro = passage("intro", "The json type keeps an exact copy of the input text, while jsonb data is stored in a decomposed binary format.")
        let indexing = passage("idx", "GIN indexes can be used to search for keys efficiently.")
        // Search finds only the table of contents; the answer is in the next chunk of its page.
        let retriever = FakeRetriever(passages: [contents])
        let subQuestion = SubQuestion(id: "sq1", text: "how is jsonb data stored", queries: ["jsonb stored"])
        #expect(try await RetrievalResearcher(retriever: retriever).research(subQuestion).isEmpty)
        let reading = RetrievalResearcher(retriever: retriever, neighborhood: FakeNeighborhood(documentOrder: [contents, intro, indexing]))
        let evidence = try await reading.research(subQuestion)
        #expect(evidence.first?.passage.chunkId == "intro")
        #expect(evidence.first?.sentence.contains("decomposed binary format") == true)
    }

    /// Vectors by meaning for a few known texts: "privilege" and "permission" sentences point
    /// the same way, everything else elsewhere.
    struct FakeMeaningEmbedder: Embedder {
        let identity = "fake-meaning"
        let dimension = 2
        func embed(_ texts: [String]) async throws -> [[Float]] {
            texts.map { text in
                let lower = text.lowercased()
                return lower.contains("permission") || lower.contains("privilege") ? [1, 0] : [0, 1]
            }
        }
    }

    @Test func aMeaningModelFindsTheAnswerInOtherWords() async throws {
        let text = "A user can select from a table with the SELECT privilege granted to the role. A user can read about tables in the manual of the table."
        let passage = Passage(chunkId: "c1", source: "grant.html", title: "GRANT", headingPath: [], text: text, start: 0, end: text.unicodeScalars.count)
        let subQuestion = SubQuestion(id: "sq1", text: "How do I give a user permission to read a table", queries: ["give user permission read table"])
        let retriever = FakeRetriever(passages: [passage])
        let byWords = try await RetrievalResearcher(retriever: retriever).research(subQuestion)
        #expect(byWords.first?.sentence == "A user can read about tables in the manual of the table.")
        let byMeaning = try await RetrievalResearcher(retriever: retriever, meaning: FakeMeaningEmbedder()).research(subQuestion)
        #expect(byMeaning.first?.sentence == "A user can select from a table with the SELECT privilege granted to the role.")
        #expect(byMeaning.count == 2, "the other sentence still holds enough of the question's words")

        // A model that fails: the sentences are chosen by words, and the report is told.
        let failing = try await RetrievalResearcher(retriever: retriever, meaning: FailingEmbedder()).findings(for: subQuestion)
        #expect(failing.evidence.map(\.sentence) == byWords.map(\.sentence))
        #expect(failing.notes.count == 1)
        #expect(failing.notes.first?.contains("chosen by their words") == true)
    }

    struct FailingEmbedder: Embedder {
        struct Down: Error {}
        let identity = "down"
        let dimension = 2
        func embed(_ texts: [String]) async throws -> [[Float]] { throw Down() }
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

    @Test func aSectionDrawsOnSeveralPassagesWhenItCan() async throws {
        let other = Passage(chunkId: "c9", source: "wal-config.html", title: "WAL Configuration", headingPath: [],
                            text: "Checkpoints flush WAL too.", start: 0, end: 26)
        let strong = (1...4).map { evidence("sq1", "WAL sentence number \($0) from one passage.", walPassage, 0.9 - Double($0) / 100) }
        let weaker = evidence("sq1", "Checkpoints flush WAL too.", other, 0.5)
        let single = ResearchPlan(subQuestions: [plan.subQuestions[0]])
        let report = try await ExtractiveSynthesizer(sentencesPerSection: 4).synthesize(question: "WAL?", plan: single, evidence: ["sq1": strong + [weaker]])
        // Two sentences of the first passage, then the other passage's, then the first's again.
        #expect(report.citations.map(\.passage.chunkId) == ["c1", "c9"])
        #expect(report.sections[0].text.contains("Checkpoints flush WAL too. [2]"))
        #expect(!report.sections[0].text.contains("number 4"))
        // With nothing else to draw on, one passage fills the section.
        let alone = try await ExtractiveSynthesizer(sentencesPerSection: 4).synthesize(question: "WAL?", plan: single, evidence: ["sq1": strong])
        #expect(alone.sections[0].text.contains("number 4"))
        // Evidence found twice (a second round found it again) is written once.
        let twice = try await ExtractiveSynthesizer(sentencesPerSection: 4).synthesize(question: "WAL?", plan: single, evidence: ["sq1": strong + strong])
        #expect(twice.sections[0].text.components(separatedBy: "number 1 from").count == 2)
        #expect(twice.sections[0].text.contains("number 4"))
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
