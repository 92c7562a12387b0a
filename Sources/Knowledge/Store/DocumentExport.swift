/// One stored document with everything needed to store it elsewhere unchanged: its record,
/// when it was ingested, and its passages with their vectors (`ares db import` copies a data
/// directory's knowledge base into PostgreSQL with these, and never re-embeds).
public struct DocumentExport: Sendable {
    /// The document's id in the store it was read from (pages of `DocumentStore.documents(afterID:limit:)` continue after it).
    public var id: Int64
    public var document: DocumentRecord
    /// Seconds since 1970, as stored.
    public var ingestedAt: Double
    /// In ordinal order.
    public var chunks: [ChunkRecord]

    public init(id: Int64, document: DocumentRecord, ingestedAt: Double, chunks: [ChunkRecord]) {
        self.id = id
        self.document = document
        self.ingestedAt = ingestedAt
        self.chunks = chunks
    }
}
