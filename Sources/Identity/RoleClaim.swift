/// Reads the values of the role claim: a claim name, or a dotted path into nested objects
/// (`realm_access.roles`). A claim whose name itself contains dots (`https://example.com/roles`)
/// is found under that name first. An array contributes its strings; a string is split at
/// spaces (`scope`); anything else contributes nothing.
enum RoleClaim {
    static func values(at path: String, in claims: [String: ClaimValue]) -> [String] {
        let value: ClaimValue?
        if let literal = claims[path] {
            value = literal
        } else {
            var current: ClaimValue? = .object(claims)
            for segment in path.split(separator: ".") {
                current = current?.object?[String(segment)]
            }
            value = current
        }
        switch value {
        case let .array(items)?: return items.compactMap(\.string)
        case let .string(text)?: return text.split(separator: " ").map(String.init)
        default: return []
        }
    }
}
