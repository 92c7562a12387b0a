import Foundation

/// Following a shared repository: each process keeps its own BM25 and HNSW indexes in memory,
/// and brings them up to what every process wrote by reading the repository's change feed.
extension KnowledgeBase {
    /// Changes read per round trip: bounds memory when a replica catches up on a long backlog.
    static let changesPerRead = 500

    /// Applies the changes committed to the shared repository since the indexes were last
    /// brought up to date, and publishes the result; returns how many changes were applied.
    /// Does nothing for a knowledge base on SQLite (no change feed). Waits for a write in
    /// progress (changes of the indexes happen one at a time); a search meanwhile reads the
    /// indexes as they were, never half of a change.
    @discardableResult
    public func followChanges() async throws -> Int {
        // Before the indexes are loaded there is nothing to bring up to date (and replaying the
        // whole log onto empty indexes is what loading the snapshot avoids).
        guard let changeFeed, let store, isLoaded else { return 0 }
        await waitForWriteSlot()
        defer { endWrite() }
        return try await applyChanges(from: changeFeed, store: store)
    }

    /// The change position the indexes reflect (on SQLite: the store's generation).
    public nonisolated var indexedPosition: Int64 { published.withLock { $0.indexes.generation } }

    /// Brings the writer's indexes to the feed's latest change. Idempotent per change, so a
    /// process may read back its own writes: a removed id not in the indexes is a no-op, an
    /// added id already indexed (this process wrote it) is skipped, and an added id whose
    /// passage has been removed since is not found and so not added (ids are never reused).
    @discardableResult
    func applyChanges(from feed: any DocumentChangeFeed, store: any DocumentRepository) async throws -> Int {
        var applied = 0
        while true {
            let changes = try await feed.changes(after: indexes.generation, limit: Self.changesPerRead)
            guard let last = changes.last else { break }
            applied += changes.count
            if Self.skipsPrunedChanges(changes, after: indexes.generation) {
                // Changes these indexes never applied were pruned from the log (older than the
                // snapshot every replica starts from, `PostgresDocumentStore.pruneChanges`):
                // rebuild from the repository, then continue from the generation the rebuild read.
                storedEmbedderIdentity = try await store.metaValue(Self.embedderMetaKey)
                indexes = try await SearchIndexes.rebuild(fromRepository: store, dimension: embedder.dimension)
                continue
            }
            if changes.contains(where: \.replacedAllEmbeddings) {
                // Every vector changed (another process re-embedded): rebuild from the repository,
                // then continue from the generation the rebuild read.
                storedEmbedderIdentity = try await store.metaValue(Self.embedderMetaKey)
                indexes = try await SearchIndexes.rebuild(fromRepository: store, dimension: embedder.dimension)
                continue
            }
            let removed = Set(changes.flatMap(\.removedChunkIDs).map { UInt64(bitPattern: $0) })
            let present = removed.filter { indexes.keyword.contains(id: $0) || indexes.vectors.contains(id: $0) }
            if !present.isEmpty {
                indexes.keyword.remove(ids: present)
                let vectors = writableVectors()
                for id in present { vectors.remove(id: id) }
            }
            let missing = changes.flatMap(\.addedChunkIDs).filter {
                !removed.contains(UInt64(bitPattern: $0)) && !indexes.keyword.contains(id: UInt64(bitPattern: $0))
            }
            if !missing.isEmpty {
                var batch: [(id: UInt64, vector: [Float])] = []
                for chunk in try await feed.chunks(ids: missing) {
                    let id = UInt64(bitPattern: chunk.id)
                    indexes.keyword.add(id: id, terms: analyzer.terms(
                        IndexedText.compose(title: chunk.title, headingPath: chunk.headingPath, text: chunk.text)))
                    if SearchIndexes.Builder.isIndexable(chunk.embedding, dimension: embedder.dimension) {
                        batch.append((id: id, vector: chunk.embedding))
                    }
                }
                if !batch.isEmpty {
                    try writableVectors().insert(batch: batch, threads: max(1, ProcessInfo.processInfo.activeProcessorCount))
                }
            }
            if storedEmbedderIdentity == nil {
                storedEmbedderIdentity = try await store.metaValue(Self.embedderMetaKey)
            }
            indexes.generation = last.position
        }
        return applied
    }

    /// Whether the first of `changes` is not the one right after `position`. Positions are
    /// consecutive (each write takes the next generation under the repository's lock, and
    /// they commit in order), so a gap means the changes in between were pruned from the log
    /// before these indexes applied them. Overflow-safe: a damaged position reads as a gap.
    nonisolated static func skipsPrunedChanges(_ changes: [DocumentChange], after position: Int64) -> Bool {
        guard let first = changes.first else { return false }
        let (distance, overflow) = first.position.subtractingReportingOverflow(position)
        return overflow || distance > 1
    }
}
