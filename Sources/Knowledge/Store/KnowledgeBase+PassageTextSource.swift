import ResearchCore

/// Task evidence stored as references reads its passages' text from the knowledge base. No
/// admission check: the text is read from the store, which serves it while a shared
/// knowledge base's search indexes are still loading.
extension KnowledgeBase: PassageTextSource {
    public nonisolated func passageTexts(chunkIds: Set<String>) async throws -> [String: String] {
        guard let store, !chunkIds.isEmpty else { return [:] }
        return try await store.passageTexts(chunkKeys: chunkIds.sorted())
    }
}
