/// A reason the engine cannot be assembled that the user can act on (a configuration error
/// is a `ConfigurationError`).
public enum CompositionError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Research was asked of a knowledge base without documents.
    case emptyKnowledgeBase(path: String)

    public var description: String {
        switch self {
        case let .emptyKnowledgeBase(path):
            "the knowledge base in \(path) has no documents: run `ares ingest PATH...` first, so there is something to research"
        }
    }
}
