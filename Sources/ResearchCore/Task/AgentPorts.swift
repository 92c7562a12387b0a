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

/// Splits a question into sub-questions with search queries.
public protocol ResearchPlanner: Sendable {
    func plan(question: String) async throws -> ResearchPlan
}

/// Finds evidence for one sub-question.
public protocol SubQuestionResearcher: Sendable {
    func research(_ subQuestion: SubQuestion) async throws -> [Evidence]
}
