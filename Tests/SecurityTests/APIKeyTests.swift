import Foundation
import Testing
@testable import Security

@Suite struct APIKeyTests {
    private func temporaryStorePath() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent(APIKeyStore.fileName).path
    }

    /// A key file dated past 2262 (any date can be set on it) used to overflow a nanosecond
    /// count on every request; far-past dates too. Keys keep working either way.
    @Test func aKeyFileWithAFarOffModificationTimeStillAuthenticates() throws {
        let path = try temporaryStorePath()
        let store = try APIKeyStore(path: path)
        let (token, key) = try store.create(role: .viewer, name: "clock")
        let authenticator = try APIKeyAuthenticator(store: store)
        for seconds in [Int(Int32.max) * 4, -Int(Int32.max) * 4, 10_000_000_000_000] {
            var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, path, &times, 0) == 0, "the file system refused the date \(seconds)")
            #expect(authenticator.authenticate(token.text) == .authenticated(Principal(id: key.id, name: "clock", role: .viewer)))
        }
    }

    @Test func aCreatedKeyAuthenticatesWithItsRoleAndOnlyItsHashIsStored() throws {
        let path = try temporaryStorePath()
        let store = try APIKeyStore(path: path)
        let (token, key) = try store.create(role: .researcher, name: "ci bot")
        let authenticator = try APIKeyAuthenticator(store: store)
        #expect(authenticator.authenticate(token.text) == .authenticated(Principal(id: key.id, name: "ci bot", role: .researcher)))
        // The secret is nowhere in the file; its digest is.
        let file = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(file.range(of: Data(token.secret.utf8)) == nil)
        #expect(file.range(of: Data(token.secretDigest)) != nil)
    }

    @Test func wrongSecretsUnknownIdsAndMalformedKeysAreRejected() throws {
        let store = try APIKeyStore(path: try temporaryStorePath())
        let (token, _) = try store.create(role: .admin, name: "")
        let authenticator = try APIKeyAuthenticator(store: store)
        var wrong = token
        wrong.secret = String(token.secret.reversed())
        guard case let .rejected(reason) = authenticator.authenticate(wrong.text) else { Issue.record("a wrong secret was accepted"); return }
        #expect(!reason.contains(wrong.secret))
        var unknown = APIKeyToken.generate()
        unknown.secret = token.secret
        // The same answer for both: a caller cannot probe which key ids exist.
        #expect(authenticator.authenticate(unknown.text) == .rejected(reason))
        #expect(reason == APIKeyAuthenticator.invalidKey)
        #expect(!reason.contains(unknown.id) && !reason.contains(token.id))
        guard case .rejected = authenticator.authenticate("Bearer nonsense") else { Issue.record("a malformed key was accepted"); return }
    }

    @Test func revocationByAnotherStoreHandleTakesEffectAtTheNextRequest() throws {
        let path = try temporaryStorePath()
        let serverSide = try APIKeyStore(path: path)
        let (token, key) = try serverSide.create(role: .viewer, name: "to revoke")
        let authenticator = try APIKeyAuthenticator(store: serverSide)
        #expect(authenticator.authenticate(token.text) != .rejected("API key \(key.id) is revoked"))
        // `ares keys revoke` runs in another process: another connection to the same file.
        try APIKeyStore(path: path).revoke(key.id)
        #expect(authenticator.authenticate(token.text) == .rejected("API key \(key.id) is revoked"))
        #expect(try authenticator.hasActiveKeys() == false)
    }

    @Test func revokingAnUnknownKeySaysSo() throws {
        let store = try APIKeyStore(path: try temporaryStorePath())
        #expect(throws: APIKeyStoreError.unknownKey("000000000000")) { try store.revoke("000000000000") }
    }

    @Test func keysAreUniqueAndParseBack() {
        let tokens = (0..<100).map { _ in APIKeyToken.generate() }
        #expect(Set(tokens.map(\.id)).count == 100)
        for token in tokens { #expect(APIKeyToken(parsing: token.text) == token) }
        #expect(APIKeyToken(parsing: "ares_zzzzzzzzzzzz_" + String(repeating: "a", count: 43)) == nil)
    }

    @Test func constantTimeComparisonComparesWholeValues() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(!ConstantTime.equals([UInt8](), [0]))
    }

    @Test func rolesAreCumulativeAndTasksArePrivateUnlessAdmin() {
        #expect(Role.viewer.allows(.readTasks) && Role.viewer.allows(.search))
        #expect(!Role.viewer.allows(.submitTasks))
        #expect(Role.researcher.allows(.submitTasks) && !Role.researcher.allows(.ingest))
        #expect(Permission.allCases.allSatisfy(Role.admin.allows))
        let alice = Principal(id: "a", name: "alice", role: .researcher)
        #expect(alice.mayAccess(taskOwnedBy: "a") && !alice.mayAccess(taskOwnedBy: "b"))
        #expect(Principal(id: "root", name: "root", role: .admin).mayAccess(taskOwnedBy: "b"))
    }
}
