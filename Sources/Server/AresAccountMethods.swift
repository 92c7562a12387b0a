import Audit
import Foundation
import Security

/// Who the caller is, and (admins) the API keys: list, create (the secret is in the answer,
/// once), revoke. Public methods of the A2A endpoint, so that the console and any other
/// client manage keys through the same authenticated, logged API as everything else.
public struct AresAccountMethods: Sendable {
    /// The key store (the data directory's, or the shared database's); nil when the server
    /// has none (then the key methods answer that keys are managed elsewhere).
    public var keyStore: (any APIKeyRepository)?

    public init(keyStore: (any APIKeyRepository)?) {
        self.keyStore = keyStore
    }

    struct Identity: Encodable {
        var id: String
        var name: String
        var role: String
        var permissions: [String]
    }

    struct KeyDescription: Encodable {
        var id: String
        var name: String
        var role: String
        var createdAt: String
        var revokedAt: String?

        init(_ key: StoredAPIKey) {
            id = key.id
            name = key.name
            role = key.role.rawValue
            createdAt = RFC3339.string(from: key.createdAt)
            revokedAt = key.revokedAt.map(RFC3339.string(from:))
        }
    }

    struct CreateKeyParams: Decodable {
        var role: String
        var name: String?
    }

    struct CreatedKey: Encodable {
        var key: KeyDescription
        /// The whole key (`ares_<id>_<secret>`): shown this once, never stored.
        var secret: String
    }

    struct RevokeKeyParams: Decodable {
        var id: String
    }

    public var methods: [JSONRPCMethod] {
        [
            // Every role may ask who it is: a client learns from it which actions to offer.
            JSONRPCMethod("ares/whoami", permission: .readTasks) { request in
                let principal = request.principal
                let identity = Identity(id: principal.id, name: principal.name, role: principal.role.rawValue,
                                        permissions: Permission.allCases.filter { principal.can($0) }.map(\.rawValue))
                return .result(try JSONRPCResponseWriter.encode(identity))
            },
            JSONRPCMethod("ares/listKeys", permission: .manageKeys) { _ in
                let keys = try await store().all().sorted { $0.createdAt > $1.createdAt }
                return .result(try JSONRPCResponseWriter.encode(["keys": keys.map(KeyDescription.init)]))
            },
            JSONRPCMethod("ares/createKey", permission: .manageKeys) { request in
                let params = try request.params(CreateKeyParams.self)
                guard let role = Role(rawValue: params.role) else {
                    throw JSONRPCError.invalidParams("role: must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(params.role.prefix(50))')")
                }
                do {
                    let (token, key) = try await store().create(role: role, name: params.name ?? "")
                    AuditNotes.current?.add(["keyId": key.id, "role": key.role.rawValue, "name": key.name])
                    return .result(try JSONRPCResponseWriter.encode(CreatedKey(key: KeyDescription(key), secret: token.text)))
                } catch let error as APIKeyStoreError {
                    throw JSONRPCError.invalidParams("name: \(error)")
                }
            },
            JSONRPCMethod("ares/revokeKey", permission: .manageKeys) { request in
                let params = try request.params(RevokeKeyParams.self)
                let id = params.id.trimmingCharacters(in: .whitespaces)
                guard !id.isEmpty, id.utf8.count <= 100 else { throw JSONRPCError.invalidParams("id: give the id of a key (as listed by ares/listKeys)") }
                // Revoking the key one is signed in with would lock the caller out mid-session,
                // possibly out of the last admin key: another admin (or `ares keys revoke`) does it.
                guard id != request.principal.id else {
                    throw JSONRPCError.invalidParams("id: '\(id)' is the key this request is signed with; revoke it with another admin key or `ares keys revoke`")
                }
                AuditNotes.current?.add(["keyId": String(id.prefix(100))])
                do {
                    return .result(try JSONRPCResponseWriter.encode(KeyDescription(try await store().revoke(id))))
                } catch APIKeyStoreError.unknownKey {
                    throw JSONRPCError.invalidParams("id: there is no key '\(id.prefix(100))'")
                }
            },
        ]
    }

    private func store() throws -> any APIKeyRepository {
        guard let keyStore else { throw JSONRPCError.invalidRequest("this server manages no API keys of its own") }
        return keyStore
    }
}
