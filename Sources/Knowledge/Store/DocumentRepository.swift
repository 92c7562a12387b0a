import ResearchCore

/// Where the knowledge base keeps its documents, passages and their vectors: the source of
/// truth from which the in-memory BM25 and HNSW indexes are derived (and can always be rebuilt).
///
/// Two implementations: `DocumentStore` (SQLite in the data directory, the embedded default)
/// and `PostgresDocumentStore` (one database shared by every replica), which also has a change
/// feed (`DocumentChangeFeed`) so that each replica's indexes follow writes made elsewhere.
///
/// Passage ids are assigned by the repository when a passage is written and are never reused:
/// the indexes hold them (as `UInt64` by bit pattern), so a stale id matches no passage rather
/// than another one.
public protocol DocumentRepository: Sendable {
    /// Increases with every write that changes passages: an index snapshot records the
    /// generation it was built at, so a snapshot that does not match is known to be stale.
    func generation() async throws -> Int64
    func metaValue(_ key: String) async throws -> String?
    func setMetaValue(_ key: String, _ value: String) async throws
    func counts() async throws -> (documents: Int, chunks: Int)
    /// What incremental ingest needs to know about every stored document, by source.
    func storedDocuments() async throws -> [String: StoredDocumentInfo]
    /// Calls `body` with every passage, in id order (for rebuilding the indexes).
    func forEachChunk(_ body: (StoredChunk) throws -> Void) async throws
    /// The passages and vectors of the given ids; ids no longer stored are absent.
    func passages(forChunkIDs ids: [Int64]) async throws -> [Int64: (passage: Passage, embedding: [Float])]
    /// The passages of `chunkKey`'s document from `before` passages before it to `after` after
    /// it, in document order, without the passage itself; none when it is not stored.
    func passages(around chunkKey: String, before: Int, after: Int) async throws -> [Passage]
    /// The text of each stored passage among `chunkKeys`, by chunk key (keys no longer stored
    /// are absent): how a task's evidence, stored as references, finds its text again.
    func passageTexts(chunkKeys: [String]) async throws -> [String: String]
    /// One page of the stored documents by display name, and how many there are in all.
    func documentSummaries(offset: Int, limit: Int) async throws -> (total: Int, documents: [DocumentSummary])
    /// Sources stored exactly as `source`, or under it when it names a folder.
    func sources(matching source: String) async throws -> [String]
    /// In one transaction: replaces each upserted document (and its passages) by source,
    /// deletes the given sources, records new modification times of unchanged files, and
    /// advances the generation when passages changed.
    func write(
        upserts: [(document: DocumentRecord, chunks: [ChunkRecord])],
        deletions: [String],
        touches: [(source: String, modifiedAt: Double)]
    ) async throws -> DocumentWriteOutcome
    /// Replaces every given passage's vector (after the embedder changed) in one transaction.
    func replaceEmbeddings(_ embeddings: [(id: Int64, embedding: [Float])]) async throws
}

/// The passage ids a write removed and, per upserted document, the ids of its new passages.
public struct DocumentWriteOutcome: Sendable {
    public var removedChunkIDs: [Int64] = []
    public var insertedChunkIDs: [[Int64]] = []

    public init(removedChunkIDs: [Int64] = [], insertedChunkIDs: [[Int64]] = []) {
        self.removedChunkIDs = removedChunkIDs
        self.insertedChunkIDs = insertedChunkIDs
    }
}

/// A repository shared by several processes, which records every write as a numbered change
/// so that each process's in-memory indexes can follow what the others wrote.
public protocol DocumentChangeFeed: Sendable {
    /// The changes committed after `position`, in order, at most `limit` of them. Positions
    /// are handed out in commit order (no change with a smaller position commits later), so a
    /// follower that has applied everything up to P never misses one by reading "after P".
    func changes(after position: Int64, limit: Int) async throws -> [DocumentChange]
    /// The stored passages among `ids` (those since removed are absent), with what the
    /// indexes need: title, headings, text and vector.
    func chunks(ids: [Int64]) async throws -> [StoredChunk]
}

/// One committed write, as followers see it.
public struct DocumentChange: Sendable, Equatable {
    public var position: Int64
    public var removedChunkIDs: [Int64]
    public var addedChunkIDs: [Int64]
    /// Every vector was replaced (the embedder changed): followers rebuild their indexes.
    public var replacedAllEmbeddings: Bool

    public init(position: Int64, removedChunkIDs: [Int64], addedChunkIDs: [Int64], replacedAllEmbeddings: Bool) {
        self.position = position
        self.removedChunkIDs = removedChunkIDs
        self.addedChunkIDs = addedChunkIDs
        self.replacedAllEmbeddings = replacedAllEmbeddings
    }
}

/// Where a shared repository keeps the serialized indexes, so that a new process loads them
/// instead of re-analyzing every passage (it never re-embeds: vectors are stored with passages).
public protocol IndexSnapshotStore: Sendable {
    /// The latest snapshot's bytes (the `index.bin` format), or nil when there is none.
    func readIndexSnapshot() async throws -> [UInt8]?
    /// Replaces the snapshot; `generation` is the change position it reflects.
    func writeIndexSnapshot(_ bytes: [UInt8], generation: Int64) async throws
}
