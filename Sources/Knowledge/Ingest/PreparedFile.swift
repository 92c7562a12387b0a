/// The result of reading one file for ingestion, computed off the writer's path.
enum PreparedFile: Sendable {
    /// A new or changed document, its chunks (with embeddings) and each chunk's index terms.
    case document(DocumentRecord, [ChunkRecord], terms: [[String]], note: String?)
    /// Content identical to what is stored; only the modification time moved.
    case unchanged(source: String, modifiedAt: Double)
    case skipped(path: String, reason: String)
}
