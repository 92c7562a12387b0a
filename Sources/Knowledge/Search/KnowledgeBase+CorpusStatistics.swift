import ResearchCore

/// The BM25 index's statistics, for query expansion by the research agents.
extension KnowledgeBase: CorpusStatistics {
    public func documentFrequencies(of terms: [String]) async throws -> (passages: Int, frequencies: [String: Int]) {
        var frequencies: [String: Int] = [:]
        for term in terms { frequencies[term] = indexes.keyword.documentFrequency(of: term) }
        return (indexes.keyword.count, frequencies)
    }
}
