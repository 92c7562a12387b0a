import Foundation
import GRDB

/// An API key as stored: who holds it and what they may do, never the secret itself.
public struct StoredAPIKey: Sendable, Equatable {
    public var id: String
    public var name: String
    public var role: Role
    public var secretDigest: [UInt8]
    public var createdAt: Date
    public var revokedAt: Date?

    public var isRevoked: Bool { revokedAt != nil }

    public init(id: String, name: String, role: Role, secretDigest: [UInt8], createdAt: Date, revokedAt: Date?) {
        self.id = id
        self.name = name
        self.role = role
        self.secretDigest = secretDigest
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// Why a key operation failed, worded for the operator.
public enum APIKeyStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    case unknownKey(String)
    case invalidName(String)

    public var description: String {
        switch self {
        case let .unknownKey(id): "there is no API key '\(id)' (see `ares keys list`)"
        case let .invalidName(reason): reason
        }
    }
}

/// The API keys of a data directory, in `access.sqlite`. Writers are short-lived CLI
/// commands (`ares keys create|revoke`) while a server reads; the file uses SQLite's
/// rollback journal so that every commit rewrites the main file and a reader can notice a
/// change by its modification time alone (see `APIKeyAuthenticator`).
public final class APIKeyStore: Sendable {
    public static let fileName = "access.sqlite"
    public let path: String
    private let queue: DatabaseQueue

    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = DELETE")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS api_key (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    role TEXT NOT NULL,
                    secretDigest BLOB NOT NULL,
                    createdAt INTEGER NOT NULL,
                    revokedAt INTEGER
                )
                """)
        }
    }

    /// Creates a key and returns its text: the only time the secret exists outside the caller.
    public func create(role: Role, name: String) throws -> (token: APIKeyToken, key: StoredAPIKey) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count <= 100, !trimmed.contains(where: \.isNewline) else {
            throw APIKeyStoreError.invalidName("a key name is one line of at most 100 characters")
        }
        let token = APIKeyToken.generate()
        let key = StoredAPIKey(id: token.id, name: trimmed.isEmpty ? "key \(token.id)" : trimmed, role: role,
                               secretDigest: token.secretDigest, createdAt: Date(), revokedAt: nil)
        try queue.write { db in
            try db.execute(
                sql: "INSERT INTO api_key (id, name, role, secretDigest, createdAt) VALUES (?, ?, ?, ?, ?)",
                arguments: [key.id, key.name, key.role.rawValue, Data(key.secretDigest), Self.microseconds(key.createdAt)])
        }
        return (token, key)
    }

    /// Revokes a key by id (or by its full text); takes effect at the next request.
    @discardableResult
    public func revoke(_ idOrToken: String) throws -> StoredAPIKey {
        let id = APIKeyToken(parsing: idOrToken)?.id ?? idOrToken
        return try queue.write { db in
            let now = Self.microseconds(Date())
            try db.execute(sql: "UPDATE api_key SET revokedAt = ? WHERE id = ? AND revokedAt IS NULL", arguments: [now, id])
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM api_key WHERE id = ?", arguments: [id]) else {
                throw APIKeyStoreError.unknownKey(id)
            }
            return try Self.key(row)
        }
    }

    public func all() throws -> [StoredAPIKey] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_key ORDER BY createdAt").map(Self.key)
        }
    }

    /// A key from its row. `decode` throws on a NULL or unreadable column, where GRDB's
    /// subscripts would trap: the file may have been damaged or edited by hand.
    private static func key(_ row: Row) throws -> StoredAPIKey {
        let id: String = try row.decode(forColumn: "id")
        let roleName: String = try row.decode(forColumn: "role")
        guard let role = Role(rawValue: roleName) else {
            throw APIKeyStoreError.invalidName("the key '\(id)' has an unknown role '\(roleName)'")
        }
        let digest: Data = try row.decode(forColumn: "secretDigest")
        let revoked: Int64? = try row.decode(forColumn: "revokedAt")
        return StoredAPIKey(id: id, name: try row.decode(forColumn: "name"), role: role, secretDigest: Array(digest),
                            createdAt: date(try row.decode(forColumn: "createdAt")), revokedAt: revoked.map(date))
    }

    private static func microseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
    private static func date(_ microseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(microseconds) / 1_000_000) }
}
