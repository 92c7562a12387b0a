import Foundation
import ResearchCore
import Synchronization

/// The knowledge base of one data directory: documents and chunks in SQLite, and the BM25
/// and HNSW indexes derived from them in memory (loaded from `index.bin`, or rebuilt). Or, with
/// `init(sharedRepository:…)`, documents in a repository several processes share (PostgreSQL),
/// each process's indexes following the others' writes (`followChanges()`).
///
/// Open it `.readWrite` to ingest or remove (this takes the data directory's lock: one
/// writer at a time) or `.readOnly` to search (no lock: any number of readers, alongside a
/// writer).
///
/// **Concurrency.** Reads do not go through the actor: `search`, `retrieve`, `neighbors`,
/// `counts` and `documentFrequencies` are nonisolated, read the indexes of the last completed
/// write (`PublishedIndexes`, taken under a lock held only to copy it) and the store through
/// SQLite's concurrent readers, so parallel researchers search at the same time. Writes
/// (`ingest`, `remove`) run one at a time on the actor, each on its own copy of the indexes,
/// which it publishes when it ends: a search sees the indexes before a write or after it,
/// never half of one.
public actor KnowledgeBase {
    public enum AccessMode: Sendable { case readOnly, readWrite }

    public static let databaseFileName = "knowledge.sqlite"
    public static let snapshotFileName = "index.bin"

    public nonisolated let dataDirectory: URL
    public nonisolated let embedder: any Embedder
    nonisolated let access: AccessMode
    /// Where documents and passages are kept: SQLite in the data directory, or a shared
    /// repository (PostgreSQL); nil for a read-only knowledge base that has no store yet.
    nonisolated let store: (any DocumentRepository)?
    /// A shared repository's change feed, which the indexes follow (`followChanges()`); nil
    /// for SQLite, whose one writer is the process that holds the indexes.
    nonisolated let changeFeed: (any DocumentChangeFeed)?
    /// Where a shared repository keeps the index snapshot; nil: `index.bin` in the data directory.
    nonisolated let sharedSnapshots: (any IndexSnapshotStore)?
    let lock: DataDirectoryLock?
    nonisolated let analyzer = TextAnalyzer()
    /// The writer's indexes: between writes the published ones, during a write its copy.
    var indexes: SearchIndexes
    /// What the store's chunks were embedded with (nil before the first ingest).
    var storedEmbedderIdentity: String?
    /// What searches read; replaced whole by `publish()` at the end of every write.
    nonisolated let published: Mutex<PublishedIndexes>
    /// Writes wait here for the one in progress: the actor alone would interleave two
    /// ingests at their suspension points.
    var writeInProgress = false
    var waitingWriters: [CheckedContinuation<Void, Never>] = []
    /// Things the user should know that did not stop the work (a rebuilt index, say).
    public internal(set) var warnings: [String] = []
    /// Asked before every search and write: why the knowledge base cannot serve now (its shared
    /// database lost, its indexes not loaded yet), nil when it can. Nil: always serves.
    nonisolated let admission: Admission?
    /// Whether the indexes hold the repository's contents: false for a shared knowledge base
    /// opened deferred, until `loadSharedIndexes()` has run.
    nonisolated let indexesLoaded: Mutex<Bool>
    /// When a shared repository's snapshot is rewritten; nil: after every write (the CLI).
    nonisolated let snapshotSchedule: IndexSnapshotSchedule?
    /// Writes of this process not in a saved snapshot yet, and when the oldest of them ended.
    var unsavedWrites = 0
    var oldestUnsavedWrite: ContinuousClock.Instant?

    /// Why the knowledge base cannot serve now, given whether its indexes are loaded; nil when
    /// it can. The composition words the refusal in its own error type (a retryable
    /// `StorageUnavailableError` for `ares serve --database`: HTTP 503, tasks pause and retry).
    public typealias Admission = @Sendable (_ indexesLoaded: Bool) -> (any Error)?

    public init(dataDirectory: URL, embedder: any Embedder, access: AccessMode) throws {
        self.dataDirectory = dataDirectory
        self.embedder = embedder
        self.access = access
        let databasePath = dataDirectory.appendingPathComponent(Self.databaseFileName).path
        changeFeed = nil
        sharedSnapshots = nil
        admission = nil
        indexesLoaded = Mutex(true)
        snapshotSchedule = nil
        let sqlite: DocumentStore?
        switch access {
        case .readWrite:
            try Self.prepareWritableDirectory(dataDirectory)
            lock = try DataDirectoryLock(directory: dataDirectory)
            do {
                sqlite = try DocumentStore(path: databasePath)
            } catch {
                throw KnowledgeBaseError.dataDirectoryNotWritable(dataDirectory.path, "\(error)")
            }
        case .readOnly:
            lock = nil
            sqlite = FileManager.default.fileExists(atPath: databasePath)
                ? try DocumentStore(path: databasePath, readOnly: true) : nil
        }
        store = sqlite
        var notes: [String] = []
        if let store = sqlite {
            let stored = try store.metaValue("embedder")
            storedEmbedderIdentity = stored
            indexes = try SearchIndexes.load(
                store: store, snapshotFile: IndexSnapshotFile(url: dataDirectory.appendingPathComponent(Self.snapshotFileName)),
                embedderIdentity: stored ?? embedder.identity, dimension: embedder.dimension, notes: &notes)
            // A reader saves a rebuilt snapshot only when no writer is at work.
            if !notes.isEmpty, access == .readOnly, let writerLock = try? DataDirectoryLock(directory: dataDirectory) {
                try? IndexSnapshotFile(url: dataDirectory.appendingPathComponent(Self.snapshotFileName)).write(
                    .init(generation: indexes.generation, embedderIdentity: stored ?? embedder.identity,
                          keyword: indexes.keyword, vectors: indexes.vectors))
                _ = writerLock
            }
        } else {
            indexes = .empty(dimension: embedder.dimension)
        }
        warnings = notes
        published = Mutex(PublishedIndexes(indexes: indexes, storedEmbedderIdentity: storedEmbedderIdentity))
    }

    /// A knowledge base on a repository shared by several processes (PostgreSQL): the indexes
    /// come from the repository's snapshot (or are rebuilt from its passages; never re-embedded)
    /// and are brought up to its latest change before this returns. From then on they follow
    /// the change feed when `followChanges()` is called (`KnowledgeChangeFollower` does, on a
    /// timer). Writers on different processes are serialized by the repository, not by a
    /// data-directory lock; `dataDirectory` only holds local files (uploads).
    public init(
        sharedRepository repository: some DocumentRepository & DocumentChangeFeed & IndexSnapshotStore,
        dataDirectory: URL, embedder: any Embedder, access: AccessMode
    ) async throws {
        self.init(deferredSharedRepository: repository, dataDirectory: dataDirectory, embedder: embedder, access: access)
        try await loadSharedIndexes()
    }

    /// A knowledge base on a shared repository whose indexes are loaded later, by
    /// `loadSharedIndexes()` (nothing is read here): for a server that listens before its
    /// database answers. Until they are loaded, `admission` decides what searches and writes
    /// are told (it is asked with `indexesLoaded` false); `schedule` throttles how often this
    /// process rewrites the repository's index snapshot (nil: after every write).
    public init(
        deferredSharedRepository repository: some DocumentRepository & DocumentChangeFeed & IndexSnapshotStore,
        dataDirectory: URL, embedder: any Embedder, access: AccessMode,
        admission: Admission? = nil, snapshotSchedule: IndexSnapshotSchedule? = nil
    ) {
        self.dataDirectory = dataDirectory
        self.embedder = embedder
        self.access = access
        lock = nil
        store = repository
        changeFeed = repository
        sharedSnapshots = repository
        self.admission = admission
        self.snapshotSchedule = snapshotSchedule
        indexesLoaded = Mutex(false)
        indexes = .empty(dimension: embedder.dimension)
        published = Mutex(PublishedIndexes(indexes: indexes, storedEmbedderIdentity: nil))
    }

    /// The meta key under which the identity of the embedder of the stored vectors is kept.
    static let embedderMetaKey = "embedder"

    private static func prepareWritableDirectory(_ directory: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw KnowledgeBaseError.dataDirectoryNotWritable(directory.path, "it exists and is not a directory")
            }
        } else {
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            } catch {
                throw KnowledgeBaseError.dataDirectoryNotWritable(directory.path, Self.reason(error))
            }
        }
        guard FileManager.default.isWritableFile(atPath: directory.path) else {
            throw KnowledgeBaseError.dataDirectoryNotWritable(directory.path, "permission denied")
        }
    }

    /// The most specific human reason Foundation gives for a file-system error.
    nonisolated static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return nsError.localizedDescription
    }

    var snapshotFile: IndexSnapshotFile {
        IndexSnapshotFile(url: dataDirectory.appendingPathComponent(Self.snapshotFileName))
    }

    /// Writes the current indexes to `index.bin`, or to the shared repository's snapshot.
    func saveSnapshot() async throws {
        let contents = IndexSnapshotFile.Contents(
            generation: indexes.generation,
            embedderIdentity: storedEmbedderIdentity ?? embedder.identity,
            keyword: indexes.keyword, vectors: indexes.vectors)
        if let sharedSnapshots {
            try await sharedSnapshots.writeIndexSnapshot(IndexSnapshotFile.encode(contents), generation: contents.generation)
        } else {
            try snapshotFile.write(contents)
        }
        unsavedWrites = 0
        oldestUnsavedWrite = nil
    }

    // MARK: Writes

    /// Waits until no other write is in progress and returns the store to write to (throws
    /// when the knowledge base was opened read-only). Every write ends with `endWrite`.
    func beginWrite() async throws -> any DocumentRepository {
        guard access == .readWrite, let store else {
            throw KnowledgeBaseError.invalidArgument("the knowledge base was opened read-only")
        }
        try admit()
        await waitForWriteSlot()
        // Asked again: the database may have gone while this write waited for the one before.
        do {
            try admit()
        } catch {
            endWrite()
            throw error
        }
        return store
    }

    /// Waits until no other change of the indexes (a write, or following the change feed) is
    /// in progress; every wait ends with `endWrite`.
    func waitForWriteSlot() async {
        if writeInProgress {
            await withCheckedContinuation { waitingWriters.append($0) }
        } else {
            writeInProgress = true
        }
    }

    /// Publishes the writer's indexes (what the write committed, also when it failed) and
    /// lets the next write in.
    func endWrite() {
        publish()
        if waitingWriters.isEmpty {
            writeInProgress = false
        } else {
            waitingWriters.removeFirst().resume()
        }
    }

    /// The HNSW index a write may change: a copy of the published one on first use, since
    /// searches may be reading that one at this moment.
    func writableVectors() -> HNSWIndex {
        let searched = published.withLock { $0.indexes.vectors }
        if searched === indexes.vectors { indexes.vectors = indexes.vectors.copy() }
        return indexes.vectors
    }

    /// Makes the writer's indexes the ones searches read.
    func publish() {
        let completed = PublishedIndexes(indexes: indexes, storedEmbedderIdentity: storedEmbedderIdentity)
        published.withLock { $0 = completed }
    }

    // MARK: Facts

    public nonisolated func counts() async throws -> (documents: Int, chunks: Int) {
        try admit()
        return try await store?.counts() ?? (0, 0)
    }

    /// A page of the stored documents (by display name) and how many there are in all.
    public nonisolated func documents(offset: Int, limit: Int) async throws -> (total: Int, documents: [DocumentSummary]) {
        try admit()
        return try await store?.documentSummaries(offset: offset, limit: limit) ?? (0, [])
    }

    /// Whether vector search can be used: the stored vectors came from this embedder.
    public var vectorsMatchEmbedder: Bool {
        Self.vectorsMatch(published.withLock { $0.storedEmbedderIdentity }, embedder)
    }

    nonisolated static func vectorsMatch(_ storedEmbedderIdentity: String?, _ embedder: any Embedder) -> Bool {
        storedEmbedderIdentity == nil || storedEmbedderIdentity == embedder.identity
    }

    // MARK: Search

    /// The best passages for `query`. An empty knowledge base gives no results (the caller
    /// decides how to tell the user); a query longer than 10,000 characters is refused.
    public nonisolated func search(_ query: String, limit: Int = 5, mode: SearchMode = .hybrid) async throws -> [SearchResult] {
        guard limit > 0, limit <= 1000 else {
            throw KnowledgeBaseError.invalidArgument("the result limit must be between 1 and 1000 (got \(limit))")
        }
        guard query.count <= 10_000 else {
            throw KnowledgeBaseError.invalidArgument("the query is \(query.count) characters long; the limit is 10000")
        }
        try admit()
        let view = published.withLock { $0 }
        let indexes = view.indexes
        guard let store, indexes.keyword.count > 0 || indexes.vectors.count > 0 else { return [] }
        var effectiveMode = mode
        if mode != .keyword, !Self.vectorsMatch(view.storedEmbedderIdentity, embedder) {
            guard mode == .hybrid else {
                throw KnowledgeBaseError.embeddingMismatch(stored: view.storedEmbedderIdentity ?? "?", configured: embedder.identity)
            }
            effectiveMode = .keyword
        }
        switch effectiveMode {
        case .keyword:
            let hits = indexes.keyword.search(terms: analyzer.terms(query), limit: limit)
            let passages = try await store.passages(forChunkIDs: hits.map { Int64(bitPattern: $0.id) })
            return hits.compactMap { hit in
                passages[Int64(bitPattern: hit.id)].map { SearchResult(passage: $0.passage, score: Double(hit.score)) }
            }
        case .vector:
            let hits = try await vectorHits(query, limit: limit, in: indexes)
            let passages = try await store.passages(forChunkIDs: hits.map { Int64(bitPattern: $0.id) })
            return hits.compactMap { hit in
                passages[Int64(bitPattern: hit.id)].map { SearchResult(passage: $0.passage, score: Double(1 - hit.distance)) }
            }
        case .hybrid:
            return try await hybridSearch(query, limit: limit, store: store, indexes: indexes)
        }
    }

    private nonisolated func vectorHits(_ query: String, limit: Int, in indexes: SearchIndexes) async throws -> [VectorSearchResult] {
        guard indexes.vectors.count > 0 else { return [] }
        let queryVector = try await embedQuery(query)
        // A small knowledge base is scanned exactly: as fast as the graph at that size, and it
        // cannot miss a passage the graph left unreachable.
        if indexes.vectors.count <= SearchIndexes.exactVectorSearchLimit {
            return indexes.vectors.exactSearch(queryVector, k: limit)
        }
        return indexes.vectors.search(queryVector, k: limit, efSearch: max(SearchIndexes.vectorParameters.efSearch, limit))
    }

    private nonisolated func embedQuery(_ query: String) async throws -> [Float] {
        if let builtin = embedder as? HashingEmbedder { return builtin.embedOne(query) }
        return try await embedder.embed([query]).first ?? []
    }

    /// BM25 and vector candidates fused by reciprocal rank, then diversified by MMR.
    private nonisolated func hybridSearch(
        _ query: String, limit: Int, store: any DocumentRepository, indexes: SearchIndexes
    ) async throws -> [SearchResult] {
        let depth = max(50, limit * 5)
        let keywordHits = indexes.keyword.search(terms: analyzer.terms(query), limit: depth)
        let vectorHits = try await vectorHits(query, limit: depth, in: indexes)
        let fused = ReciprocalRankFusion.fuse([keywordHits.map(\.id), vectorHits.map(\.id)], weights: [1, embedder.fusionWeight])
        let pool = Array(fused.prefix(max(limit * 4, 20)))
        let stored = try await store.passages(forChunkIDs: pool.map { Int64(bitPattern: $0.id) })
        let candidates = pool.compactMap { item -> MaximalMarginalRelevance.Candidate? in
            guard let entry = stored[Int64(bitPattern: item.id)] else { return nil }
            return .init(id: item.id, relevance: item.score, embedding: entry.embedding, source: entry.passage.source)
        }
        let scores = Dictionary(uniqueKeysWithValues: pool.map { ($0.id, $0.score) })
        return MaximalMarginalRelevance().select(candidates, limit: limit).compactMap { candidate in
            stored[Int64(bitPattern: candidate.id)].map { SearchResult(passage: $0.passage, score: scores[candidate.id] ?? 0) }
        }
    }
}
