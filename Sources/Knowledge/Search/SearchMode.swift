import ResearchCore

/// How a query is matched: BM25 keywords, vector similarity, or both fused.
public enum SearchMode: String, Sendable, CaseIterable, Codable {
    case hybrid, keyword, vector
}

/// One passage found by a search, with the score of the mode that ranked it: BM25 for
/// keyword, cosine similarity for vector, the reciprocal-rank-fusion score for hybrid.
public struct SearchResult: Sendable, Equatable {
    public var passage: Passage
    public var score: Double
    public init(passage: Passage, score: Double) {
        self.passage = passage
        self.score = score
    }
}
