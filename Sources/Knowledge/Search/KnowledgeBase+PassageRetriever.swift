import ResearchCore

/// The knowledge base is what the research agents retrieve from: hybrid search.
extension KnowledgeBase: PassageRetriever {
    public func retrieve(_ query: String, limit: Int) async throws -> [RetrievedPassage] {
        try await search(query, limit: limit, mode: .hybrid).map { RetrievedPassage(passage: $0.passage, score: $0.score) }
    }
}
