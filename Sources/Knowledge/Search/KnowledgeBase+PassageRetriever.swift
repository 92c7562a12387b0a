import ResearchCore

/// The knowledge base is what the research agents retrieve from: hybrid search. Passages carry
/// their documents' display names, so reports never show the machine's absolute paths.
extension KnowledgeBase: PassageRetriever {
    public nonisolated func retrieve(_ query: String, limit: Int) async throws -> [RetrievedPassage] {
        try await search(query, limit: limit, mode: .hybrid).map { RetrievedPassage(passage: $0.passage.shared, score: $0.score) }
    }
}
