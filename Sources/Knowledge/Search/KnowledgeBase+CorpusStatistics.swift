import ResearchCore

/// The BM25 index's statistics, for query expansion by the research agents.
extension KnowledgeBase: CorpusStatistics {
    public nonisolated func documentFrequencies(of terms: [String]) async throws -> (passages: Int, frequencies: [String: Int]) {
        let keyword = published.withLock { $0.indexes.keyword }
        var frequencies: [String: Int] = [:]
        for term in terms { frequencies[term] = keyword.documentFrequency(of: term) }
        return (keyword.count, frequencies)
    }
}
