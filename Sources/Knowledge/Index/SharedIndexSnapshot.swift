/// Builds a shared repository's index snapshot from the passages and vectors it stores (never
/// re-embedding), for a writer that filled the repository without a `KnowledgeBase` of its
/// own: `ares db import` copies a data directory's documents into PostgreSQL and leaves a fresh
/// snapshot behind, so the first replica loads it instead of re-indexing every passage.
public enum SharedIndexSnapshot {
    /// Rebuilds the BM25 and HNSW indexes from `repository` (vectors of `dimension`; others are
    /// left out as a rebuild does) and replaces its snapshot. Returns the generation the
    /// snapshot reflects, or nil when there is nothing to index (no embedder recorded yet).
    ///
    /// The generation is read before the passages, so a write that commits meanwhile makes the
    /// snapshot older than what it holds, never newer: a replica that loads it re-applies the
    /// later changes, which is idempotent (`KnowledgeBase.applyChanges`).
    @discardableResult
    public static func rebuild(in repository: some DocumentRepository & IndexSnapshotStore, dimension: Int) async throws -> Int64? {
        guard dimension > 0, let identity = try await repository.metaValue(KnowledgeBase.embedderMetaKey) else { return nil }
        let indexes = try await SearchIndexes.rebuild(fromRepository: repository, dimension: dimension)
        let contents = IndexSnapshotFile.Contents(generation: indexes.generation, embedderIdentity: identity,
                                                  keyword: indexes.keyword, vectors: indexes.vectors)
        try await repository.writeIndexSnapshot(IndexSnapshotFile.encode(contents), generation: indexes.generation)
        return indexes.generation
    }
}
