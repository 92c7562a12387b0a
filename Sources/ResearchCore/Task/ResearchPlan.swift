/// One part of a research question, with the searches that should answer it.
public struct SubQuestion: Sendable, Codable, Hashable, Identifiable {
    public var id: String
    public var text: String
    /// Search queries for the researcher: the sub-question itself and reformulations.
    public var queries: [String]

    public init(id: String, text: String, queries: [String]) {
        self.id = id
        self.text = text
        self.queries = queries
    }
}

/// The planner's split of a question into sub-questions.
public struct ResearchPlan: Sendable, Codable, Hashable {
    public var subQuestions: [SubQuestion]
    /// Set when the plan was reused from a near-identical past task (episodic memory).
    public var reusedFromTask: String?

    public init(subQuestions: [SubQuestion], reusedFromTask: String? = nil) {
        self.subQuestions = subQuestions
        self.reusedFromTask = reusedFromTask
    }
}
