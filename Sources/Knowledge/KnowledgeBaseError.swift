/// Failures of the knowledge base, each worded for the person who has to act on it.
public enum KnowledgeBaseError: Error, CustomStringConvertible, Sendable, Equatable {
    case dataDirectoryNotWritable(String, String)
    case pathNotFound(String)
    case invalidArgument(String)
    case embeddingMismatch(stored: String, configured: String)

    public var description: String {
        switch self {
        case let .dataDirectoryNotWritable(path, reason):
            "cannot write to the data directory '\(path)': \(reason) (choose another with --data-dir or ARES_DATA_DIR)"
        case let .pathNotFound(path):
            "'\(path)' does not exist"
        case let .invalidArgument(message):
            message
        case let .embeddingMismatch(stored, configured):
            "the knowledge base was embedded with '\(stored)' but the configured embedder is '\(configured)'; run `ares ingest` with the new embedder to re-embed it"
        }
    }
}
