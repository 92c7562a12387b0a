import Foundation

/// Where API keys are kept: the data directory's `access.sqlite` (`APIKeyStore`, the embedded
/// default) or the database several replicas share (`PostgresAPIKeyStore` in PostgresStorage).
/// Security only knows this port, so it does not depend on any database client but SQLite's.
///
/// Implementations store only the SHA-256 of a key's secret, and return the key's text once,
/// from `create`.
public protocol APIKeyRepository: Sendable {
    /// Creates a key and returns its text: the only time the secret exists outside the caller.
    /// Throws `APIKeyStoreError.invalidName` for a name that is not one line of at most 100 characters.
    func create(role: Role, name: String) async throws -> (token: APIKeyToken, key: StoredAPIKey)
    /// Revokes a key by id (or by its full text); throws `APIKeyStoreError.unknownKey` when
    /// there is no such key. Revoking a revoked key changes nothing and returns it.
    @discardableResult
    func revoke(_ idOrToken: String) async throws -> StoredAPIKey
    /// Every key, revoked ones included, oldest first.
    func all() async throws -> [StoredAPIKey]
}

extension APIKeyStore: APIKeyRepository {}

/// The checks every repository applies to a new key, in one place.
public enum APIKeyRules {
    /// The name as stored: trimmed, one line of at most 100 characters; empty becomes "key ID".
    public static func name(_ name: String, id: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count <= 100, !trimmed.contains(where: \.isNewline) else {
            throw APIKeyStoreError.invalidName("a key name is one line of at most 100 characters")
        }
        return trimmed.isEmpty ? "key \(id)" : trimmed
    }

    /// The id a revocation names: a key's id, or the id inside a key's full text.
    public static func id(revoking idOrToken: String) -> String {
        APIKeyToken(parsing: idOrToken)?.id ?? idOrToken
    }
}
