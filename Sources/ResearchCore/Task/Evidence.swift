/// A sentence that answers a sub-question, with exactly where it came from: the passage
/// and the sentence's span (Unicode-scalar offsets into the source document's text).
public struct Evidence: Sendable, Codable, Hashable {
    public var subQuestionID: String
    public var sentence: String
    public var passage: Passage
    public var start: Int
    public var end: Int
    /// How well the sentence answers the sub-question, 0...1 (researcher-specific scale).
    public var score: Double

    public init(subQuestionID: String, sentence: String, passage: Passage, start: Int, end: Int, score: Double) {
        self.subQuestionID = subQuestionID
        self.sentence = sentence
        self.passage = passage
        self.start = start
        self.end = end
        self.score = score
    }
}

/// The evaluator's verdict on a round of research: what is weak and what to do about it.
public struct Critique: Sendable, Codable, Hashable {
    /// Share of sub-questions with evidence above the threshold, 0...1.
    public var coverage: Double
    /// Sub-questions that need more research, with reformulated queries.
    public var revisions: [SubQuestion]
    public var notes: [String]

    public init(coverage: Double, revisions: [SubQuestion], notes: [String]) {
        self.coverage = coverage
        self.revisions = revisions
        self.notes = notes
    }

    /// True when nothing needs another round.
    public var isSatisfied: Bool { revisions.isEmpty }
}
