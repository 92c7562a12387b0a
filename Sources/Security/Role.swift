/// What a principal may do. Roles are cumulative: a researcher can do everything a viewer can,
/// an admin everything a researcher can.
public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    case viewer, researcher, admin

    public func allows(_ permission: Permission) -> Bool {
        self >= permission.minimumRole
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .researcher: 1
        case .admin: 2
        }
    }
}

/// One thing a request does; each server method names the permission it needs.
public enum Permission: String, Sendable, CaseIterable {
    /// Read one's own tasks and their events.
    case readTasks
    /// Search the knowledge base.
    case search
    /// Submit research tasks and cancel one's own.
    case submitTasks
    /// Add documents to the knowledge base.
    case ingest
    /// Create and revoke API keys.
    case manageKeys
    /// Read and cancel every principal's tasks.
    case seeAllTasks

    public var minimumRole: Role {
        switch self {
        case .readTasks, .search: .viewer
        case .submitTasks: .researcher
        case .ingest, .manageKeys, .seeAllTasks: .admin
        }
    }
}
