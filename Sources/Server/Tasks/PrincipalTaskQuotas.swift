import Security
import TaskService

/// How many tasks one principal may have waiting and running at once, by role, so that one
/// client cannot fill the whole queue (or take every worker) and leave the others refused.
public struct PrincipalTaskQuotas: Sendable, Equatable {
    /// One role's limits; nil means "only the server-wide limit applies".
    public typealias Quota = TaskQuota

    public var researcher: Quota
    public var admin: Quota

    /// Defaults: a researcher may keep 100 tasks waiting (a tenth of the default queue); an
    /// admin is bound by the server-wide limits only.
    public init(researcher: Quota = Quota(maximumQueued: 100), admin: Quota = .unlimited) {
        self.researcher = researcher
        self.admin = admin
    }

    public func quota(for role: Role) -> Quota {
        switch role {
        case .viewer: Quota(maximumQueued: 0, maximumRunning: 0)
        case .researcher: researcher
        case .admin: admin
        }
    }
}
