/// Why the identity provider's discovery document or keys could not be used. The text names
/// the document and what was wrong with it; it never holds a token.
public struct IdentityProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
