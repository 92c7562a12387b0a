/// Who is calling: an API key's holder, or the local admin of a `--dev` server.
public struct Principal: Sendable, Hashable {
    /// Stable and not secret: the key id (recorded as the owner of the tasks it submits).
    public var id: String
    public var name: String
    public var role: Role

    public init(id: String, name: String, role: Role) {
        self.id = id
        self.name = name
        self.role = role
    }

    /// The principal of requests without credentials on a `--dev` server bound to loopback.
    public static let localDevelopmentAdmin = Principal(id: "dev-admin", name: "local development admin", role: .admin)

    public func can(_ permission: Permission) -> Bool { role.allows(permission) }

    /// Whether this principal may read or cancel a task owned by `owner`.
    public func mayAccess(taskOwnedBy owner: String?) -> Bool {
        can(.seeAllTasks) || owner == id
    }
}
