import Security

/// What a request does, for rate limits: reads (tasks, search, metrics) are cheap and frequent;
/// writes (submitting and cancelling tasks, ingesting, managing keys and webhooks) cost work.
public enum RequestClass: String, Sendable, CaseIterable {
    case read, write

    /// The class of a method that needs `permission`.
    public init(_ permission: Permission) {
        switch permission {
        case .readTasks, .search: self = .read
        case .submitTasks, .ingest, .manageKeys, .seeAllTasks: self = .write
        }
    }
}
