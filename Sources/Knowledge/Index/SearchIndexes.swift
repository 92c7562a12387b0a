import Foundation

/// The in-memory indexes of a knowledge base and the store generation they reflect.
struct SearchIndexes {
    static let vectorParameters = HNSWParameters(m: 16, efConstruction: 100, efSearch: 96)

    var keyword: BM25Index
    var vectors: HNSWIndex
    var generation: Int64
    // Chunk ids are SQLite rowids (Int64); the indexes hold them as UInt64 by bit pattern, both
    // ways (`UInt64(bitPattern:)`, `Int64(bitPattern:)`), so an id from a damaged or hostile
    // file (a negative rowid, an index id ≥ 2⁶³) matches no chunk instead of trapping.

    static func empty(dimension: Int) -> SearchIndexes {
        SearchIndexes(keyword: BM25Index(), vectors: HNSWIndex(dimension: dimension, parameters: vectorParameters), generation: 0)
    }

    /// Rebuilds both indexes from the stored chunks (vectors of another dimension, from an
    /// earlier embedder, are left out until they are re-embedded).
    static func rebuild(from store: DocumentStore, dimension: Int) throws -> SearchIndexes {
        let analyzer = TextAnalyzer()
        let generation = try store.generation()
        var keyword = BM25Index()
        let vectors = HNSWIndex(dimension: dimension, parameters: vectorParameters)
        var batch: [(id: UInt64, vector: [Float])] = []
        try store.forEachChunk { chunk in
            let text = IndexedText.compose(title: chunk.title, headingPath: chunk.headingPath, text: chunk.text)
            keyword.add(id: UInt64(bitPattern: chunk.id), terms: analyzer.terms(text))
            // A damaged stored vector (NaN or infinity) is left out like one of the wrong
            // dimension: the HNSW insert would refuse the whole batch, and the store could not open.
            if chunk.embedding.count == dimension, chunk.embedding.allSatisfy(\.isFinite) {
                batch.append((id: UInt64(bitPattern: chunk.id), vector: chunk.embedding))
            }
        }
        try vectors.insert(batch: batch, threads: ProcessInfo.processInfo.activeProcessorCount)
        return SearchIndexes(keyword: keyword, vectors: vectors, generation: generation)
    }

    /// Loads the snapshot when it matches the store, else rebuilds; `notes` says why.
    static func load(
        store: DocumentStore, snapshotFile: IndexSnapshotFile, embedderIdentity: String, dimension: Int, notes: inout [String]
    ) throws -> SearchIndexes {
        let generation = try store.generation()
        let databaseName = KnowledgeBase.databaseFileName
        do {
            if let snapshot = try snapshotFile.read() {
                if snapshot.generation == generation, snapshot.embedderIdentity == embedderIdentity {
                    return SearchIndexes(keyword: snapshot.keyword, vectors: snapshot.vectors, generation: generation)
                }
                notes.append("the index file is out of date (built at generation \(snapshot.generation), the store is at \(generation)); rebuilt it from \(databaseName)")
            } else if try store.counts().chunks > 0 {
                notes.append("no index file found; rebuilt the indexes from \(databaseName)")
            }
        } catch {
            notes.append("the index file \(KnowledgeBase.snapshotFileName) is damaged (\(error)); rebuilt it from \(databaseName)")
        }
        return try rebuild(from: store, dimension: dimension)
    }
}
