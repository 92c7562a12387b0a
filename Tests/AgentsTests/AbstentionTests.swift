import Testing
import Knowledge
import ResearchCore
@testable import Agents

/// Reports abstain rather than pad (issue 17 §4): a sentence enters only if it is relevant
/// enough to its sub-question; a sub-question without such evidence says so and is counted.
@Suite struct AbstentionTests {
    static func passage(_ id: String, _ source: String, _ text: String) -> Passage {
        Passage(chunkId: id, source: source, title: source, headingPath: [], text: text, start: 0, end: text.unicodeScalars.count)
    }

    /// One sub-question the knowledge base answers, one it only brushes against: its single
    /// shared word ("tables") is a small share of what it asks.
    static let wal = passage("c1", "wal.html", "WAL records are flushed to disk before the data pages change. Checkpoints bound recovery time.")
    static let brush = passage("c2", "misc.html", "Some tables are large and some tables are small in every database.")
    static let plan = ResearchPlan(subQuestions: [
        SubQuestion(id: "sq1", text: "when are WAL records flushed to disk", queries: ["WAL records flushed disk"]),
        SubQuestion(id: "sq2", text: "which zstd compression level suits partitioned tables", queries: ["zstd compression level partitioned tables"]),
    ])

    static func report(relevance: RelevanceThresholds) async throws -> ResearchReport {
        let researcher = RetrievalResearcher(retriever: FakeRetriever(passages: [wal, brush]),
                                             minimumOverlap: relevance.minimumWordShare, minimumCosine: relevance.minimumCosine)
        var evidence: [String: [Evidence]] = [:]
        for subQuestion in plan.subQuestions { evidence[subQuestion.id] = try await researcher.research(subQuestion) }
        let written = try await ExtractiveSynthesizer(minimumShareOfBest: relevance.minimumShareOfBest)
            .synthesize(question: "When are WAL records flushed, and which zstd level suits partitioned tables?", plan: plan, evidence: evidence)
        return try await QuotationCitationChecker().verify(written).report
    }

    @Test func aSubQuestionWithOnlyIrrelevantPassagesSaysTheKnowledgeBaseDoesNotSayAndIsCounted() async throws {
        let report = try await Self.report(relevance: RelevanceThresholds())
        #expect(report.sections.count == 2)
        let answered = report.sections[0], abstained = report.sections[1]
        // The relevant sub-question is answered with its sentence and a citation of its passage.
        #expect(answered.isAnswered)
        #expect(answered.text.contains("WAL records are flushed to disk before the data pages change. [1]"))
        #expect(report.citations.first?.passage.chunkId == "c1")
        // The other one says so plainly, cites nothing and is what the quality block counts.
        #expect(abstained.text == ExtractiveSynthesizer.notAnswered("which zstd compression level suits partitioned tables"))
        #expect(abstained.text.hasPrefix("The knowledge base does not say"))
        #expect(abstained.citations.isEmpty && !abstained.isAnswered)
        #expect(report.unansweredSections.map(\.title) == ["which zstd compression level suits partitioned tables"])
        #expect(!report.citations.contains { $0.passage.chunkId == "c2" }, "the brushing passage is not cited anywhere")
        #expect(report.markdown.contains("The knowledge base does not say"))
    }

    @Test func withoutTheGateTheBrushingSentenceWouldPad() async throws {
        // The same research with the keyword gate low enough to let one shared word in: the
        // sentence about tables fills the second section. This is what the gate prevents.
        let padded = try await Self.report(relevance: RelevanceThresholds(minimumWordShare: 0.1))
        #expect(padded.unansweredSections.isEmpty)
        #expect(padded.sections[1].text.contains("Some tables are large"))
    }

    @Test func nothingRelevantAnywhereGivesAnAnswerThatSaysSo() async throws {
        let researcher = RetrievalResearcher(retriever: FakeRetriever(passages: [Self.brush]))
        let subQuestion = SubQuestion(id: "sq1", text: "which zstd compression level suits partitioned tables", queries: ["zstd compression partitioned tables"])
        let evidence = try await researcher.research(subQuestion)
        #expect(evidence.isEmpty)
        let report = try await ExtractiveSynthesizer().synthesize(
            question: "Which zstd level suits partitioned tables?", plan: ResearchPlan(subQuestions: [subQuestion]), evidence: ["sq1": evidence])
        #expect(report.answer == ExtractiveSynthesizer.nothingAnswered)
        #expect(report.citations.isEmpty)
        #expect(report.unansweredSections.count == 1)
    }

    @Test func aSectionLeavesOutSentencesFarBelowItsBest() async throws {
        func item(_ id: String, _ sentence: String, _ score: Double) -> Evidence {
            let passage = Self.passage(id, "\(id).html", sentence)
            return Evidence(subQuestionID: "sq1", sentence: sentence, passage: passage, start: 0, end: sentence.unicodeScalars.count, score: score)
        }
        let evidence = [item("a", "The limit for a table is 32 TB.", 0.9), item("b", "Tables can be partitioned by range.", 0.7),
                        item("c", "The GIN pending list is flushed by vacuum.", 0.3)]
        let plan = ResearchPlan(subQuestions: [SubQuestion(id: "sq1", text: "maximum table size", queries: ["maximum table size"])])
        let strict = try await ExtractiveSynthesizer(minimumShareOfBest: 0.6, sourcesPerSection: 0).synthesize(question: "q", plan: plan, evidence: ["sq1": evidence])
        #expect(strict.sections[0].text == "The limit for a table is 32 TB. [1] Tables can be partitioned by range. [2]")
        let loose = try await ExtractiveSynthesizer(minimumShareOfBest: 0, sourcesPerSection: 0).synthesize(question: "q", plan: plan, evidence: ["sq1": evidence])
        #expect(loose.sections[0].text.contains("GIN pending list"))
    }

    /// The example: asked for the maximum table size, a section padded with a GIN, a
    /// BRIN and a WAL sentence. By default a section quotes only its two best documents.
    @Test func aSectionQuotesOnlyTheDocumentsOfItsBestSentences() async throws {
        func item(_ id: String, _ source: String, _ sentence: String, _ score: Double) -> Evidence {
            let passage = Self.passage(id, source, sentence)
            return Evidence(subQuestionID: "sq1", sentence: sentence, passage: passage, start: 0, end: sentence.unicodeScalars.count, score: score)
        }
        let evidence = [item("l1", "limits.html", "Maximum size for a table: 32 TB.", 0.8),
                        item("l2", "limits.html", "Maximum size for a field: 1 GB.", 0.7),
                        item("s1", "storage.html", "A table larger than 1 GB is divided into segments.", 0.6),
                        item("g1", "gin.html", "The pending list of a GIN index grows until it is flushed.", 0.59),
                        item("b1", "brin.html", "The size of a block range is set by pages_per_range.", 0.58),
                        item("w1", "wal.html", "Checkpoints happen when max_wal_size is reached.", 0.57)]
        let plan = ResearchPlan(subQuestions: [SubQuestion(id: "sq1", text: "maximum size of a table", queries: ["maximum size table"])])
        let report = try await ExtractiveSynthesizer().synthesize(question: "What is the maximum size of a table?", plan: plan, evidence: ["sq1": evidence])
        #expect(Set(report.citations.map(\.passage.source)) == ["limits.html", "storage.html"])
        #expect(report.sections[0].text == "Maximum size for a table: 32 TB. [1] Maximum size for a field: 1 GB. [2] A table larger than 1 GB is divided into segments. [3]")
        let unlimited = try await ExtractiveSynthesizer(sourcesPerSection: 0).synthesize(question: "q", plan: plan, evidence: ["sq1": evidence])
        #expect(unlimited.citations.count == 4, "without the limit the fourth sentence is GIN padding")
    }

    /// Cosines set by hand: the sub-question is [1, 0]; a sentence about a privilege is at
    /// cosine 0.5, one about names at 0.4, anything else at 0.
    struct FixedCosineEmbedder: Embedder {
        let identity = "fixed-cosine"
        let dimension = 2
        let capturesMeaning = true
        func embed(_ texts: [String]) async throws -> [[Float]] {
            texts.map { text in
                if text.hasPrefix("How do I") { return [1, 0] }
                if text.contains("privilege") { return [0.5, (1 - 0.25 as Float).squareRoot()] }
                if text.contains("name") { return [0.4, (1 - 0.16 as Float).squareRoot()] }
                return [0, 1]
            }
        }
    }

    @Test func withASemanticModelTheCosineDecidesWhatEntersTheReport() async throws {
        // Each sentence shares one of the five question terms ("table"): below the word share.
        let passage = Self.passage("g1", "grant.html", "The SELECT privilege on a table is granted with GRANT. Every table has a name of its own.")
        let subQuestion = SubQuestion(id: "sq1", text: "How do I give a user permission to read a table", queries: ["give user permission read table"])
        let retriever = FakeRetriever(passages: [passage])
        let gated = try await RetrievalResearcher(retriever: retriever, meaning: FixedCosineEmbedder()).research(subQuestion)
        #expect(gated.map(\.sentence) == ["The SELECT privilege on a table is granted with GRANT."], "cosine 0.5 passes 0.45, 0.4 does not")
        let looser = try await RetrievalResearcher(retriever: retriever, meaning: FixedCosineEmbedder(), minimumCosine: 0.35).research(subQuestion)
        #expect(looser.count == 2)

        let names = SubQuestion(id: "sq1", text: "How do I name a table", queries: ["name table"])
        let onlyNames = Self.passage("n1", "names.html", "Every table has a name of its own.")
        // Here "name" and "table" are the whole question: the word share admits it whatever the cosine.
        let byWords = try await RetrievalResearcher(retriever: FakeRetriever(passages: [onlyNames]), meaning: FixedCosineEmbedder()).research(names)
        #expect(byWords.count == 1)
    }

    @Test func aSectionWhoseClaimsTheCheckerRemovedIsUnanswered() {
        let passage = Self.passage("c1", "wal.html", "WAL records are flushed first.")
        let report = ResearchReport(answer: "x", sections: [.init(title: "kept", text: "WAL records are flushed first. [1]", citations: [1]),
                                                            .init(title: "emptied", text: "", citations: [1])],
                                    citations: [Citation(index: 1, passage: passage)], markdown: "")
        #expect(report.unansweredSections.map(\.title) == ["emptied"])
    }
}

/// The precision measures of the research benchmark, on a hand-made report whose every number
/// is counted by hand below.
@Suite struct ReportAnswerMeasuresTests {
    static let limits = AbstentionTests.passage("c1", "/docs/html/limits.html", "Maximum size for a table: 32 TB. With the default BLCKSZ of 8192 bytes.")
    static let gin = AbstentionTests.passage("c2", "/docs/html/gin.html", "The pending list is flushed by vacuum.")
    static let brin = AbstentionTests.passage("c3", "/docs/html/brin.html", "BRIN stores summaries of block ranges.")

    static var report: ResearchReport {
        // The answer repeats a section's first sentence (counted once); one section is unanswered.
        ResearchReport(
            answer: "Maximum size for a table: 32 TB. [1]",
            sections: [
                .init(title: "size", text: "Maximum size for a table: 32 TB. [1] The pending list is flushed by vacuum. [2]", citations: [1, 2]),
                .init(title: "index", text: "BRIN stores summaries of block ranges. [3] The pending list is flushed by vacuum. [2][1]", citations: [3, 2, 1]),
                .init(title: "other", text: ExtractiveSynthesizer.notAnswered("other"), citations: []),
            ],
            citations: [Citation(index: 1, passage: limits), Citation(index: 2, passage: gin), Citation(index: 3, passage: brin)],
            markdown: "")
    }

    @Test func countsClaimsFromAnsweringPagesAndTheHintInTheText() {
        let measures = ReportAnswerMeasures.measure(Self.report, answeringPages: ["limits.html"], hint: "32  tb")
        // Claims: "Maximum size…[1]", "pending…[2]", "BRIN…[3]", "pending…[2][1]" (written differently: its own claim).
        #expect(measures.claims == 4)
        // From limits.html: the first, and the last through its second marker.
        #expect(measures.claimsFromAnsweringPages == 2)
        #expect(measures.hintInText, "case and whitespace aside, “32 TB” is in the text")
        #expect(measures.citesAnsweringPassage)
        #expect(measures.unansweredSections == 1)
    }

    @Test func aHintOnlyInTheSourcesIsCitedButNotInTheText() {
        let measures = ReportAnswerMeasures.measure(Self.report, answeringPages: ["limits.html"], hint: "BLCKSZ")
        #expect(measures.citesAnsweringPassage, "the cited limits passage holds it")
        #expect(!measures.hintInText, "no report sentence says it")
    }

    @Test func aPassageWithTheHintFromAPageThatDoesNotAnswerIsNotCited() {
        let measures = ReportAnswerMeasures.measure(Self.report, answeringPages: ["gin.html"], hint: "32 TB")
        #expect(!measures.citesAnsweringPassage)
        #expect(measures.claimsFromAnsweringPages == 2, "the two pending-list claims")
        #expect(measures.hintInText)
    }

    @Test func aReportThatAbstainsClaimsNothing() {
        let report = ResearchReport(answer: ExtractiveSynthesizer.nothingAnswered,
                                    sections: [.init(title: "q", text: ExtractiveSynthesizer.notAnswered("q"), citations: [])],
                                    citations: [], markdown: "")
        let measures = ReportAnswerMeasures.measure(report, answeringPages: ["limits.html"], hint: "32 TB")
        #expect(measures == ReportAnswerMeasures(claims: 0, claimsFromAnsweringPages: 0, hintInText: false, citesAnsweringPassage: false, unansweredSections: 1))
    }
}
