import Foundation
import Synchronization

/// The outcome of checking a presented API key. Reasons are for logs and error messages;
/// none of them contains the secret.
public enum AuthenticationResult: Sendable, Equatable {
    case authenticated(Principal)
    case rejected(String)
}

/// Checks API keys against the key store with an in-memory copy of the (small) key table.
/// The copy is refreshed whenever the key file changes, so that `ares keys revoke` in
/// another process takes effect at the next request, without a database read per request.
public final class APIKeyAuthenticator: Sendable {
    private struct Snapshot {
        var keys: [String: StoredAPIKey] = [:]
        var signature: FileSignature?
    }

    /// What identifies a version of the key file. Modification times are as coarse as the
    /// kernel's clock tick, so a file changed within the last second is always re-read.
    private struct FileSignature: Equatable {
        var inode: UInt64
        var size: Int64
        var modifiedNanoseconds: Int64
    }

    private let store: APIKeyStore
    private let snapshot = Mutex(Snapshot())

    public init(store: APIKeyStore) throws {
        self.store = store
        try refresh()
    }

    public func authenticate(_ presented: String) -> AuthenticationResult {
        guard let token = APIKeyToken(parsing: presented) else {
            return .rejected("the credential is not an ares API key (expected ares_<id>_<secret>)")
        }
        do {
            try refreshIfChanged()
        } catch {
            return .rejected("the key store cannot be read: \(error)")
        }
        guard let key = snapshot.withLock({ $0.keys[token.id] }) else {
            return .rejected("unknown API key id \(token.id)")
        }
        guard ConstantTime.equals(key.secretDigest, token.secretDigest) else {
            return .rejected("wrong secret for API key id \(token.id)")
        }
        guard !key.isRevoked else { return .rejected("API key \(token.id) is revoked") }
        return .authenticated(Principal(id: key.id, name: key.name, role: key.role))
    }

    /// Whether any key that is not revoked exists: a server without one must not start.
    public func hasActiveKeys() throws -> Bool {
        try refreshIfChanged()
        return snapshot.withLock { $0.keys.values.contains { !$0.isRevoked } }
    }

    private func refreshIfChanged() throws {
        let current = Self.signature(of: store.path)
        let cached = snapshot.withLock { $0.signature }
        if let current, current == cached, !Self.isRecent(current) { return }
        try refresh()
    }

    private func refresh() throws {
        let before = Self.signature(of: store.path)
        let keys = try store.all()
        snapshot.withLock {
            $0.keys = Dictionary(keys.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
            $0.signature = before
        }
    }

    private static func signature(of path: String) -> FileSignature? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileSignature(inode: UInt64(info.st_ino), size: Int64(info.st_size),
                             modifiedNanoseconds: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }

    private static func isRecent(_ signature: FileSignature) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let nowNanoseconds = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
        return nowNanoseconds - signature.modifiedNanoseconds < 1_000_000_000
    }
}
