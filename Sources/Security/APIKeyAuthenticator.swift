import Foundation
import Synchronization

/// The outcome of checking a presented API key. Reasons are for logs and error messages;
/// none of them contains the secret.
public enum AuthenticationResult: Sendable, Equatable {
    case authenticated(Principal)
    case rejected(String)
    /// The keys cannot be checked yet (a replica still loading them from the database): the
    /// key may well be valid, so the caller is told to retry, not that it is refused.
    case unavailable(String)
}

/// Checks API keys against the key store with an in-memory copy of the (small) key table.
/// With the data directory's key file, the copy is refreshed whenever the file changes, so
/// that `ares keys revoke` in another process takes effect at the next request, without a
/// database read per request. With a shared repository (PostgreSQL), the copy is replaced by
/// whoever follows the repository's changes (`replaceKeys`, called by a refresher at least
/// every second), so a key revoked through any replica is refused by all within that time; a
/// key created elsewhere is accepted at once, because a key is refused only after a fresh
/// reload (`reloadBeforeRefusing`).
public final class APIKeyAuthenticator: Sendable {
    private struct Snapshot {
        var keys: [String: StoredAPIKey] = [:]
        var signature: FileSignature?
        /// False until the first `replaceKeys` of an authenticator made with `awaitingKeys()`.
        var loaded = true
    }

    /// What identifies a version of the key file. Modification times are as coarse as the
    /// kernel's clock tick, so a file changed within the last second is always re-read.
    private struct FileSignature: Equatable {
        var inode: UInt64
        var size: Int64
        /// Seconds and nanoseconds kept apart: a file dated past 2262 (any date can be set)
        /// must not overflow a nanosecond count.
        var modifiedSeconds: Int64
        var modifiedNanoseconds: Int64
    }

    /// The key file whose changes are followed here; nil: the keys come from `replaceKeys`.
    private let store: APIKeyStore?
    private let snapshot = Mutex(Snapshot())
    /// Waits for the keys to be reloaded from the shared repository (`reloadBeforeRefusing`).
    private let reload = Mutex<(@Sendable () async -> Void)?>(nil)
    /// The one message for a key that is not (or no longer) in the store or has the wrong secret.
    public static let invalidKey = "the API key is not valid"
    /// Compared against when the id is unknown; no secret hashes to it in practice.
    private static let standInDigest = [UInt8](repeating: 0, count: 32)

    public init(store: APIKeyStore) throws {
        self.store = store
        try refresh()
    }

    /// An authenticator over keys that someone else keeps current (`replaceKeys`): a shared
    /// repository that cannot be read per request. Until the first `replaceKeys`, every key
    /// is refused (deny by default).
    public init(keys: [StoredAPIKey] = []) {
        store = nil
        replaceKeys(keys)
    }

    /// An authenticator whose keys someone else loads (a replica reading them from the
    /// database): until the first `replaceKeys`, a presented key is answered "unavailable, retry"
    /// rather than refused, so that a client does not discard a good key because it called
    /// while the replica was starting.
    public static func awaitingKeys() -> APIKeyAuthenticator {
        let authenticator = APIKeyAuthenticator()
        authenticator.snapshot.withLock { $0.loaded = false }
        return authenticator
    }

    /// Whether the keys were loaded (always true for the key file and `init(keys:)`).
    public var keysLoaded: Bool { snapshot.withLock { $0.loaded } }

    /// The answer to a key presented before the keys were loaded.
    public static let keysLoading = "the server is still loading its API keys; retry shortly"

    /// Replaces the in-memory copy with `keys` (the repository's whole table).
    public func replaceKeys(_ keys: [StoredAPIKey]) {
        snapshot.withLock {
            $0.keys = Dictionary(keys.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
            $0.loaded = true
        }
    }

    /// Makes `authenticateReloadingBeforeRefusal` wait for `reload` (a fresh read of the shared
    /// key table, rate-limited by whoever provides it) before it refuses a key: a key created on
    /// another replica or by `ares keys create --database` a moment ago is then accepted here,
    /// instead of being refused until the next periodic refresh (a client would discard it).
    public func reloadBeforeRefusing(using reload: @escaping @Sendable () async -> Void) {
        self.reload.withLock { $0 = reload }
    }

    /// `authenticate`, but a well-formed key that would be refused (an id the copy does not have,
    /// or a wrong secret) is checked once more after a reload (`reloadBeforeRefusing`), if one is
    /// set. A wrong secret waits for the reload as an unknown id does, so the time to the answer
    /// does not tell which key ids exist either. A revoked key is refused at once: it never
    /// comes back.
    public func authenticateReloadingBeforeRefusal(_ presented: String) async -> AuthenticationResult {
        let first = authenticate(presented)
        guard case let .rejected(reason) = first, reason == Self.invalidKey,
              let reload = reload.withLock({ $0 }) else { return first }
        await reload()
        return authenticate(presented)
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
        // An unknown id and a wrong secret get the same answer after the same work (a digest
        // compared in constant time against a stored or a stand-in digest), so neither the
        // message nor the timing tells a caller which key ids exist.
        guard let key = snapshot.withLock({ $0.loaded ? Optional($0.keys[token.id]) : nil }) else {
            return .unavailable(Self.keysLoading)
        }
        let matches = ConstantTime.equals(key?.secretDigest ?? Self.standInDigest, token.secretDigest)
        guard let key, matches else { return .rejected(Self.invalidKey) }
        guard !key.isRevoked else { return .rejected("API key \(key.id) is revoked") }
        return .authenticated(Principal(id: key.id, name: key.name, role: key.role))
    }

    /// Whether any key that is not revoked exists: a server without one must not start.
    public func hasActiveKeys() throws -> Bool {
        try refreshIfChanged()
        return snapshot.withLock { $0.keys.values.contains { !$0.isRevoked } }
    }

    private func refreshIfChanged() throws {
        guard let store else { return }
        let current = Self.signature(of: store.path)
        let cached = snapshot.withLock { $0.signature }
        if let current, current == cached, !Self.isRecent(current) { return }
        try refresh()
    }

    private func refresh() throws {
        guard let store else { return }
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
                             modifiedSeconds: Int64(info.st_mtim.tv_sec), modifiedNanoseconds: Int64(info.st_mtim.tv_nsec))
    }

    private static func isRecent(_ signature: FileSignature) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        // Within the last second, or in the future: compared in whole seconds, without arithmetic
        // that a far-off date could overflow.
        let nowSeconds = Int64(now.tv_sec)
        return signature.modifiedSeconds >= nowSeconds || signature.modifiedSeconds == nowSeconds - 1
    }
}
