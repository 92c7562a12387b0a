import ResearchCore

/// The knowledge base lets researchers read on around a search hit, in the hit's document.
extension KnowledgeBase: PassageNeighborhood {
    public nonisolated func neighbors(of passage: Passage, before: Int, after: Int) async throws -> [Passage] {
        try admit()
        return try await store?.passages(around: passage.chunkId, before: before, after: after).map(\.shared) ?? []
    }
}
