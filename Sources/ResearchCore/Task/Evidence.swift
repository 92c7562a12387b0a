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
    /// Evidence sentences that contradict each other across sources.
    public var contradictions: [Contradiction]
    /// Share of the distinct evidence sentences caught in at least one contradiction, 0...1
    /// (0: the sources agree as far as the evaluator can tell).
    public var contradictionScore: Double
    /// What the report's reader should know about this round, carried into the report's
    /// notes (e.g. the built-in evaluator stood in for a model that failed).
    public var reportNotes: [String]

    public init(coverage: Double, revisions: [SubQuestion], notes: [String], contradictions: [Contradiction] = [],
                contradictionScore: Double = 0, reportNotes: [String] = []) {
        self.coverage = coverage
        self.revisions = revisions
        self.notes = notes
        self.contradictions = contradictions
        self.contradictionScore = contradictionScore
        self.reportNotes = reportNotes
    }

    /// True when nothing needs another round.
    public var isSatisfied: Bool { revisions.isEmpty }

    private enum CodingKeys: String, CodingKey {
        case coverage, revisions, notes, contradictions, contradictionScore, reportNotes
    }

    /// Critiques stored before contradictions and report notes existed decode with none.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(coverage: try container.decode(Double.self, forKey: .coverage),
                  revisions: try container.decode([SubQuestion].self, forKey: .revisions),
                  notes: try container.decode([String].self, forKey: .notes),
                  contradictions: try container.decodeIfPresent([Contradiction].self, forKey: .contradictions) ?? [],
                  contradictionScore: try container.decodeIfPresent(Double.self, forKey: .contradictionScore) ?? 0,
                  reportNotes: try container.decodeIfPresent([String].self, forKey: .reportNotes) ?? [])
    }
}
