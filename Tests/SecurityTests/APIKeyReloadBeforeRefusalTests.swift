import Foundation
import Synchronization
import Testing
@testable import Security

/// A replica on a shared key table refuses a key only after a fresh reload
/// (`reloadBeforeRefusing`): a key created elsewhere a moment ago is accepted by its first
/// request; a wrong secret waits for the reload as an unknown id does; a revoked key does not.
@Suite struct APIKeyReloadBeforeRefusalTests {
    final class Reloads: Sendable {
        private let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var total: Int { count.withLock { $0 } }
    }

    static func stored(_ token: APIKeyToken, revoked: Bool = false) -> StoredAPIKey {
        StoredAPIKey(id: token.id, name: "n", role: .researcher, secretDigest: token.secretDigest, createdAt: Date(),
                     revokedAt: revoked ? Date() : nil)
    }

    @Test func aKeyCreatedElsewhereIsAcceptedAfterTheReloadItCauses() async {
        let known = APIKeyToken.generate(), created = APIKeyToken.generate()
        let authenticator = APIKeyAuthenticator(keys: [Self.stored(known)])
        let reloads = Reloads()
        // The reload finds the key the other replica committed.
        authenticator.reloadBeforeRefusing {
            reloads.add()
            authenticator.replaceKeys([Self.stored(known), Self.stored(created)])
        }
        #expect(authenticator.authenticate(created.text) == .rejected(APIKeyAuthenticator.invalidKey), "the copy alone does not know it")
        #expect(await authenticator.authenticateReloadingBeforeRefusal(created.text) == .authenticated(Principal(id: created.id, name: "n", role: .researcher)))
        #expect(reloads.total == 1)
        #expect(await authenticator.authenticateReloadingBeforeRefusal(known.text) == .authenticated(Principal(id: known.id, name: "n", role: .researcher)))
        #expect(reloads.total == 1, "a known key costs no reload")
    }

    @Test func aWrongSecretWaitsForTheReloadAsAnUnknownIdDoesAndARevokedKeyDoesNot() async throws {
        let known = APIKeyToken.generate(), revoked = APIKeyToken.generate()
        let authenticator = APIKeyAuthenticator(keys: [Self.stored(known), Self.stored(revoked, revoked: true)])
        let reloads = Reloads()
        authenticator.reloadBeforeRefusing { reloads.add() }
        let wrongSecret = try #require(APIKeyToken(parsing: "ares_\(known.id)_\(String(repeating: "x", count: 43))"))
        #expect(await authenticator.authenticateReloadingBeforeRefusal(wrongSecret.text) == .rejected(APIKeyAuthenticator.invalidKey))
        #expect(await authenticator.authenticateReloadingBeforeRefusal(APIKeyToken.generate().text) == .rejected(APIKeyAuthenticator.invalidKey))
        #expect(reloads.total == 2, "the same work for a wrong secret and an unknown id")
        #expect(await authenticator.authenticateReloadingBeforeRefusal(revoked.text) == .rejected("API key \(revoked.id) is revoked"))
        #expect(await authenticator.authenticateReloadingBeforeRefusal("not a key") != .authenticated(Principal(id: "", name: "", role: .viewer)))
        #expect(reloads.total == 2, "a revoked key or a malformed credential causes no reload")
    }
}
