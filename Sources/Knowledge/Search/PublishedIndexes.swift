/// What a search reads, taken whole from the knowledge base: the indexes and the embedder the
/// stored vectors came from, always from the same completed write.
///
/// A write (ingest, remove) works on its own copy and publishes a new value when it is done;
/// a published value is never changed afterwards (its BM25 index is a value, and its HNSW index
/// is copied before a write changes it), so searches read it without a lock, side by side with
/// each other and with the next write, and never see half of one.
struct PublishedIndexes: Sendable {
    var indexes: SearchIndexes
    var storedEmbedderIdentity: String?
}
