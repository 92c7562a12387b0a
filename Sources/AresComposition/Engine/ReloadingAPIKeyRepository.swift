import Security

/// The shared (PostgreSQL) key table as the server's key methods see it: after a key is created
/// or revoked through this replica, its authenticator reloads the keys at once, so that the
/// key just created works on the very next request here (and a revoked one is refused here at
/// once), rather than after the next refresh round (`PostgresAPIKeyRefresher`), which is what
/// the other replicas wait for.
struct ReloadingAPIKeyRepository: APIKeyRepository {
    let base: any APIKeyRepository
    let authenticator: APIKeyAuthenticator

    func create(role: Role, name: String) async throws -> (token: APIKeyToken, key: StoredAPIKey) {
        let created = try await base.create(role: role, name: name)
        await reload()
        return created
    }

    @discardableResult
    func revoke(_ idOrToken: String) async throws -> StoredAPIKey {
        let revoked = try await base.revoke(idOrToken)
        await reload()
        return revoked
    }

    func all() async throws -> [StoredAPIKey] {
        try await base.all()
    }

    /// The change is committed; should the reload fail (the database gone this instant), the
    /// refresh rounds load it once the database answers again.
    private func reload() async {
        if let keys = try? await base.all() { authenticator.replaceKeys(keys) }
    }
}
