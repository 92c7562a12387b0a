/// Which role a value grants: a value of an identity provider's role claim, or the identity of
/// a verified client certificate. Written `VALUE=ROLE` pairs separated by commas
/// (`ares-admin=admin,ares-user=researcher`); a value may itself contain `=` (the last one
/// separates the role), not a comma.
public struct RoleMap: Sendable, Equatable {
    public private(set) var roles: [String: Role]

    /// Every role granted by its own name: `viewer=viewer,researcher=researcher,admin=admin`.
    public static let identityDefinition = Role.allCases.map { "\($0.rawValue)=\($0.rawValue)" }.joined(separator: ",")

    public init(_ roles: [String: Role] = [:]) {
        self.roles = roles
    }

    /// Reads a definition; the error says which pair is wrong and why.
    public init(parsing definition: String) throws(RoleMapError) {
        var roles: [String: Role] = [:]
        for pair in definition.split(separator: ",", omittingEmptySubsequences: true) {
            let text = pair.trimmingBlanks()
            if text.isEmpty { continue }
            guard let separator = text.lastIndex(of: "=") else {
                throw RoleMapError("'\(text)' is not VALUE=ROLE")
            }
            let value = String(text[..<separator]).trimmingBlanks()
            let roleName = String(text[text.index(after: separator)...]).trimmingBlanks()
            guard !value.isEmpty else { throw RoleMapError("'\(text)' names no value before '='") }
            guard let role = Role(rawValue: roleName) else {
                throw RoleMapError("'\(roleName)' in '\(text)' is not a role (viewer, researcher or admin)")
            }
            if let earlier = roles[value], earlier != role {
                throw RoleMapError("'\(value)' is mapped twice (\(earlier.rawValue) and \(role.rawValue))")
            }
            roles[value] = role
        }
        self.roles = roles
    }

    /// The highest role any of `values` grants; nil when none is mapped.
    public func highestRole(for values: some Sequence<String>) -> Role? {
        values.compactMap { roles[$0] }.max()
    }

    public var isEmpty: Bool { roles.isEmpty }
}

/// A role map definition that cannot be read.
public struct RoleMapError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension StringProtocol {
    /// Without spaces and tabs at either end.
    func trimmingBlanks() -> String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
