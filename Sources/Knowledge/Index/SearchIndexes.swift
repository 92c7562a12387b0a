import Foundation

/// The in-memory indexes of a knowledge base and the store generation they reflect.
struct SearchIndexes {
    static let vectorParameters = HNSWParameters(m: 16, efConstruction: 100, efSearch: 96)
    /// Up to this many vectors a search compares the query with every one (`exactSearch`):
    /// about as fast as the graph at this size, and exact.
    static let exactVectorSearchLimit = 2_048

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
        var builder = Builder(dimension: dimension)
        let generation = try store.generation()
        try store.forEachChunk { builder.add($0) }
        return try builder.finish(generation: generation)
    }

    /// `rebuild(from:dimension:)` for any repository (PostgreSQL's is read asynchronously).
    static func rebuild(fromRepository repository: any DocumentRepository, dimension: Int) async throws -> SearchIndexes {
        var builder = Builder(dimension: dimension)
        let generation = try await repository.generation()
        try await repository.forEachChunk { builder.add($0) }
        return try builder.finish(generation: generation)
    }

    /// Collects chunks into a BM25 index and a batch of vectors, inserted into HNSW at the end
    /// (one parallel batch insert is much faster than one insert per chunk).
    struct Builder {
        let dimension: Int
        let analyzer = TextAnalyzer()
        var keyword = BM25Index()
        var batch: [(id: UInt64, vector: [Float])] = []

        init(dimension: Int) { self.dimension = dimension }

        mutating func add(_ chunk: StoredChunk) {
            let text = IndexedText.compose(title: chunk.title, headingPath: chunk.headingPath, text: chunk.text)
            keyword.add(id: UInt64(bitPattern: chunk.id), terms: analyzer.terms(text))
            // A damaged stored vector (NaN or infinity) is left out like one of the wrong
            // dimension: the HNSW insert would refuse the whole batch, and the store could not open.
            if Self.isIndexable(chunk.embedding, dimension: dimension) {
                batch.append((id: UInt64(bitPattern: chunk.id), vector: chunk.embedding))
            }
        }

        static func isIndexable(_ vector: [Float], dimension: Int) -> Bool {
            vector.count == dimension && vector.allSatisfy(\.isFinite)
        }

        func finish(generation: Int64) throws -> SearchIndexes {
            let vectors = HNSWIndex(dimension: dimension, parameters: SearchIndexes.vectorParameters)
            try vectors.insert(batch: batch, threads: ProcessInfo.processInfo.activeProcessorCount)
            return SearchIndexes(keyword: keyword, vectors: vectors, generation: generation)
        }
    }

    /// A shared repository's snapshot when it was built with this embedder at a generation the
    /// repository has reached (the changes after it are applied by following the change feed),
    /// else a rebuild from the stored passages and vectors; `notes` says why.
    static func loadShared(
        repository: any DocumentRepository, snapshots: any IndexSnapshotStore, embedderIdentity: String, dimension: Int,
        notes: inout [String]
    ) async throws -> SearchIndexes {
        let generation = try await repository.generation()
        do {
            if let bytes = try await snapshots.readIndexSnapshot() {
                let snapshot = try IndexSnapshotFile.decode(bytes)
                if snapshot.generation <= generation, snapshot.embedderIdentity == embedderIdentity, snapshot.vectors.dimension == dimension {
                    return SearchIndexes(keyword: snapshot.keyword, vectors: snapshot.vectors, generation: snapshot.generation)
                }
                notes.append("the shared index snapshot does not fit (built at generation \(snapshot.generation) with \(snapshot.embedderIdentity), the store is at \(generation)); rebuilt the indexes from the stored passages")
            }
        } catch {
            notes.append("the shared index snapshot is damaged (\(error)); rebuilt the indexes from the stored passages")
        }
        return try await rebuild(fromRepository: repository, dimension: dimension)
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
