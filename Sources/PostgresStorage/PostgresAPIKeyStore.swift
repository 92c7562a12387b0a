import Foundation
import Logging
import PostgresNIO
import Security

/// The API keys of every replica, in the shared database (schema: `PostgresMigrations.apiKeys`):
/// the same keys, roles and rules as the data directory's `APIKeyStore`, and the same
/// guarantee that only the SHA-256 of a secret is stored.
///
/// Replicas do not read this table per request: each keeps a copy in its `APIKeyAuthenticator`
/// that a `PostgresAPIKeyRefresher` replaces whenever `signature()` changes. Every insert and
/// every revocation gives the row a new `revision` from a sequence, and a row's revision only
/// grows, so the table's (count, sum of revisions) changes with every change that commits, in
/// whatever order concurrent changes commit (a maximum would miss a smaller revision that
/// commits after a larger one).
public final class PostgresAPIKeyStore: APIKeyRepository {
    private let client: PostgresDatabasePool
    private let settings: DatabaseSettings
    private let logger: Logger

    public init(database: PostgresDatabase) {
        client = database.pool
        settings = database.settings
        logger = database.logger
    }

    public func create(role: Role, name: String) async throws -> (token: APIKeyToken, key: StoredAPIKey) {
        let token = APIKeyToken.generate()
        let key = StoredAPIKey(id: token.id, name: try APIKeyRules.name(name, id: token.id), role: role,
                               secretDigest: token.secretDigest, createdAt: Date(), revokedAt: nil)
        _ = try await run {
            try await client.query("""
                INSERT INTO ares_api_keys (id, name, role, secret_digest, created_at)
                VALUES (\(key.id), \(key.name), \(key.role.rawValue), \(Data(key.secretDigest)), \(Self.microseconds(key.createdAt)))
                """, logger: logger)
        }
        return (token, key)
    }

    @discardableResult
    public func revoke(_ idOrToken: String) async throws -> StoredAPIKey {
        let id = APIKeyRules.id(revoking: idOrToken)
        // NUL cannot be in a PostgreSQL text; no key id has one, so it names no key.
        guard !id.contains("\0"), id.utf8.count <= 200 else { throw APIKeyStoreError.unknownKey(String(id.prefix(100))) }
        let now = Self.microseconds(Date())
        let keys = try await run {
            try await client.query("""
                UPDATE ares_api_keys SET revoked_at = \(now), revision = nextval('ares_api_key_revision')
                WHERE id = \(id) AND revoked_at IS NULL
                """, logger: logger)
            return try await read("SELECT id, name, role, secret_digest, created_at, revoked_at FROM ares_api_keys WHERE id = \(id)")
        }
        guard let key = keys.first else { throw APIKeyStoreError.unknownKey(id) }
        return key
    }

    public func all() async throws -> [StoredAPIKey] {
        try await run {
            try await read("SELECT id, name, role, secret_digest, created_at, revoked_at FROM ares_api_keys ORDER BY created_at, id")
        }
    }

    /// What changes whenever a key is created or revoked (see the type's comment): one small
    /// aggregate, cheap enough to ask every half second.
    public func signature() async throws -> String {
        try await run {
            let rows = try await client.query("SELECT count(*)::text || '/' || coalesce(sum(revision), 0)::text FROM ares_api_keys",
                                              logger: logger)
            var signature = ""
            for try await value in rows.decode(String.self) { signature = value }
            return signature
        }
    }

    private func read(_ query: PostgresQuery) async throws -> [StoredAPIKey] {
        let rows = try await client.query(query, logger: logger)
        var keys: [StoredAPIKey] = []
        // Decoding throws on a NULL or mistyped column (a row edited outside ares), never traps.
        for try await (id, name, roleName, digest, createdAt, revokedAt) in rows.decode((String, String, String, Data, Int64, Int64?).self) {
            guard let role = Role(rawValue: roleName) else {
                throw PostgresStorageError(.damaged, "the API key '\(id)' has an unknown role '\(roleName.prefix(40))': the database was changed outside ares")
            }
            keys.append(StoredAPIKey(id: id, name: name, role: role, secretDigest: Array(digest),
                                     createdAt: Self.date(createdAt), revokedAt: revokedAt.map(Self.date)))
        }
        return keys
    }

    /// Runs `body`, naming a database error for a person (key errors pass through).
    private func run<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as APIKeyStoreError {
            throw error
        } catch {
            throw PostgresStorageError.describing(error, settings: settings)
        }
    }

    private static func microseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
    private static func date(_ microseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(microseconds) / 1_000_000) }
}
