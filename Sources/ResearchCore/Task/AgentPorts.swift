/// A passage found for a query, with its retrieval score (higher is better).
public struct RetrievedPassage: Sendable, Hashable {
    public var passage: Passage
    public var score: Double
    public init(passage: Passage, score: Double) {
        self.passage = passage
        self.score = score
    }
}

/// The knowledge base as the research agents see it. Agents never touch storage; tests
/// hand them an in-memory fake of this port.
public protocol PassageRetriever: Sendable {
    func retrieve(_ query: String, limit: Int) async throws -> [RetrievedPassage]
}

/// How common index terms are in the knowledge base, for expanding queries with its own
/// vocabulary: how many passages there are and how many contain each term.
public protocol CorpusStatistics: Sendable {
    func documentFrequencies(of terms: [String]) async throws -> (passages: Int, frequencies: [String: Int])
}

/// The passages next to a passage in its document. A search hit often stops where its
/// answer goes on (a heading and a list of contents, then the section's first paragraph),
/// so a researcher reads around its best hits as a person would.
public protocol PassageNeighborhood: Sendable {
    /// Up to `before` passages before `passage` and `after` after it in its document, in
    /// document order, without `passage` itself; none when it is no longer stored.
    func neighbors(of passage: Passage, before: Int, after: Int) async throws -> [Passage]
}

/// Splits a question into sub-questions with search queries.
public protocol ResearchPlanner: Sendable {
    func plan(question: String) async throws -> ResearchPlan
}

/// What a researcher found for one sub-question, and what the report's reader should know
/// about how (e.g. the built-in researcher stood in for a model that failed).
public struct ResearchFindings: Sendable, Hashable {
    public var evidence: [Evidence]
    public var notes: [String]
    public init(evidence: [Evidence], notes: [String] = []) {
        self.evidence = evidence
        self.notes = notes
    }
}

/// Finds evidence for one sub-question.
public protocol SubQuestionResearcher: Sendable {
    func research(_ subQuestion: SubQuestion) async throws -> [Evidence]
    /// The evidence with notes for the report; the workflow calls this. Researchers with
    /// nothing to say need not implement it.
    func findings(for subQuestion: SubQuestion) async throws -> ResearchFindings
}

extension SubQuestionResearcher {
    public func findings(for subQuestion: SubQuestion) async throws -> ResearchFindings {
        ResearchFindings(evidence: try await research(subQuestion))
    }
}

/// Judges a round of research and says what, if anything, to research again.
public protocol ResearchEvaluator: Sendable {
    func evaluate(subQuestions: [SubQuestion], evidence: [String: [Evidence]], round: Int) async throws -> Critique
}

/// Writes the report from the evidence.
public protocol ReportSynthesizer: Sendable {
    func synthesize(question: String, plan: ResearchPlan, evidence: [String: [Evidence]]) async throws -> ResearchReport
}

/// Checks every sentence of a report against the passage it cites.
public protocol CitationChecker: Sendable {
    func verify(_ report: ResearchReport) async throws -> (report: ResearchReport, check: CitationCheck)
}
