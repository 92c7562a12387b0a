import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOSSL
import Security
import Synchronization

/// Verifies OAuth2 bearer tokens (JWT access tokens) from one OpenID Connect provider and
/// names the principal behind each: ares as a resource server.
///
/// A token is accepted only when all of these hold, checked in this order so the reason names
/// the first thing wrong: at most `maximumTokenBytes`; a JWS header whose `alg` is RS256,
/// PS256, ES256 or EdDSA (never `none`, never HMAC) with a `kid` and no `crit`; a key under that
/// `kid` in the provider's JWKS (refetched, rate-limited, when unknown) usable with that `alg`;
/// a signature that verifies; `iss` equal to the issuer; `aud` containing the audience; `exp`
/// present and not past, `nbf` and `iat` not in the future (each with the leeway); a
/// non-empty `sub`; and a role claim with at least one value the role map knows.
///
/// The principal's id is `oidc:` and 24 hex digits of SHA-256(issuer, subject): stable across
/// tokens and restarts, so task ownership works as with API keys, and never equal to an API
/// key id (12 hex digits, no prefix). Reasons never contain the token.
public final class OIDCTokenVerifier: Sendable {
    public let settings: OIDCSettings
    let cache: SigningKeyCache
    /// Encoded payload → what it says, for payloads whose signature verified and whose claims passed.
    private let recentPayloads = Mutex<[String: PayloadFacts]>([:])
    private let logger: Logger

    /// `http` decides which CAs are trusted for the provider (by default AsyncHTTPClient's
    /// shared client: the system's CAs).
    public convenience init(settings: OIDCSettings, http: HTTPClient = .shared, logger: Logger) {
        self.init(settings: settings, client: IdentityProviderClient(settings: settings, http: http, tls: nil), logger: logger)
    }

    /// Calls to the provider verify its certificate with `tlsConfiguration` (e.g. the system's
    /// CAs and a private one).
    public convenience init(settings: OIDCSettings, tlsConfiguration: TLSConfiguration, logger: Logger) {
        self.init(settings: settings, client: IdentityProviderClient(settings: settings, http: nil, tls: tlsConfiguration), logger: logger)
    }

    private init(settings: OIDCSettings, client: IdentityProviderClient, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.cache = SigningKeyCache(minimumRefetchInterval: settings.minimumRefetchInterval) { known throws(IdentityProviderError) in
            try await client.fetchKeys(knownJWKSURI: known)
        }
    }

    /// Whether a bearer credential is shaped like a JWS compact serialization: three base64url
    /// segments, the last one (the signature) possibly empty, so an unsigned `alg: none` token
    /// is recognised and refused as such. ares API keys (`ares_<id>_<secret>`) contain no dot,
    /// so the two never mix.
    public static func looksLikeJWT(_ credential: String) -> Bool {
        // Over the contiguous UTF-8 buffer: this runs on every bearer credential.
        var text = credential
        return text.withUTF8 { bytes in
            var dots = 0
            var segmentHasContent = false
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "."):
                    if !segmentHasContent { return false }
                    dots += 1
                    if dots > 2 { return false }
                    segmentHasContent = false
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                     UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                    segmentHasContent = true
                default:
                    return false
                }
            }
            return dots == 2
        }
    }

    /// Loads the provider's keys now (at server start); failures are logged and retried when
    /// a token arrives.
    @discardableResult
    public func loadKeys() async -> OIDCKeyStatus {
        let status = OIDCKeyStatus(await cache.load())
        if let error = status.lastError {
            logger.warning("identity provider keys not loaded", metadata: ["issuer": .string(settings.issuerIdentifier), "reason": .string(error)])
        } else {
            logger.info("identity provider keys loaded", metadata: ["issuer": .string(settings.issuerIdentifier), "keys": .stringConvertible(status.keyCount)])
        }
        return status
    }

    public var keyStatus: OIDCKeyStatus { OIDCKeyStatus(cache.status) }

    /// The service that refreshes the keys in the background (add it to the service group).
    public var refresher: OIDCKeyRefresher { OIDCKeyRefresher(verifier: self) }

    public func verify(_ token: String) async -> AuthenticationResult {
        switch await check(token) {
        case let .success(principal): return .authenticated(principal)
        case let .failure(refusal): return .rejected(refusal.reason)
        }
    }

    private struct Refusal: Error { var reason: String }

    private func check(_ token: String) async -> Result<Principal, Refusal> {
        guard token.utf8.count <= settings.maximumTokenBytes else {
            return .failure(Refusal(reason: "the bearer token is longer than \(settings.maximumTokenBytes) bytes"))
        }
        guard Self.looksLikeJWT(token) else {
            return .failure(Refusal(reason: "the bearer token is not a JWT (three base64url parts separated by dots)"))
        }
        let header: TokenHeader
        switch TokenHeader.parse(token) {
        case let .success(parsed): header = parsed
        case let .failure(refusal): return .failure(Refusal(reason: refusal.description))
        }
        let keys: VerificationKeys
        switch await cache.keys(forKeyID: header.keyID) {
        case let .keys(found): keys = found
        case .unknownKeyID:
            return .failure(Refusal(reason: "the token is signed with a key (kid '\(header.keyID.prefix(64))') the identity provider does not publish"))
        case let .unavailable(why):
            return .failure(Refusal(reason: "the identity provider is unavailable, so no token can be verified: \(why)"))
        }
        guard let entry = keys.entries[header.keyID], entry.algorithms.contains(header.algorithm) else {
            return .failure(Refusal(reason: "the key '\(header.keyID.prefix(64))' is not published for \(header.algorithm.rawValue) signatures"))
        }
        guard entry.key.verifies(header.signature, of: header.signingInput, with: header.algorithm) else {
            return .failure(Refusal(reason: "the token's signature does not verify"))
        }
        // The payload is read only after its signature verified. A client presents the same
        // token for its whole lifetime, so what a payload once said (its principal and its
        // times) is looked up; the signature above and the times below are still checked on
        // every request.
        let encodedPayload = String(header.encodedPayload)
        let facts: PayloadFacts
        if let known = recentPayloads.withLock({ $0[encodedPayload] }) {
            facts = known
        } else {
            guard let data = Base64URL.decode(header.encodedPayload),
                  let claims = TokenClaims.decode(data, roleClaim: settings.roleClaim) else {
                return .failure(Refusal(reason: "the token's payload is not a JSON object of claims"))
            }
            switch payloadFacts(claims) {
            case let .success(read): facts = read
            case let .failure(refusal): return .failure(refusal)
            }
            if encodedPayload.utf8.count <= 8 * 1024 {
                recentPayloads.withLock { recent in
                    // Bounded: only signed, acceptable payloads get here, and many only ever empty it.
                    if recent.count >= 256 { recent.removeAll(keepingCapacity: true) }
                    recent[encodedPayload] = facts
                }
            }
        }
        return checkTimes(facts, now: Date().timeIntervalSince1970)
    }

    /// What a verified payload says: who, with which role, and when it is valid.
    private struct PayloadFacts: Sendable {
        var principal: Principal
        var expires: Double
        var notBefore: Double?
        var issuedAt: Double?
    }

    /// Everything about the claims that does not depend on the time.
    private func payloadFacts(_ claims: [String: ClaimValue]) -> Result<PayloadFacts, Refusal> {
        guard let issuer = claims["iss"]?.string, issuer == settings.issuerIdentifier else {
            let named = claims["iss"]?.string.map { "'\($0.prefix(200))'" } ?? "no issuer"
            return .failure(Refusal(reason: "the token names \(named), not the issuer '\(settings.issuerIdentifier)'"))
        }
        let audiences: [String]
        switch claims["aud"] {
        case let .string(single)?: audiences = [single]
        case let .array(values)?: audiences = values.compactMap(\.string)
        default: audiences = []
        }
        guard audiences.contains(settings.audience) else {
            return .failure(Refusal(reason: "the token is not meant for this server: its audience (aud) does not contain '\(settings.audience)'"))
        }
        guard let expires = claims["exp"]?.finiteNumber else {
            return .failure(Refusal(reason: "the token has no expiry time (exp)"))
        }
        guard let subject = claims["sub"]?.string, !subject.isEmpty, subject.utf8.count <= 1024 else {
            return .failure(Refusal(reason: "the token names no subject (sub)"))
        }
        let values = RoleClaim.values(at: settings.roleClaim, in: claims)
        guard let role = settings.roleMap.highestRole(for: values) else {
            return .failure(Refusal(reason: "the token grants no ares role: its claim '\(settings.roleClaim)' has no value the role map gives a role"))
        }
        // Not `client_id`: in a user's access token (RFC 9068) that names the application, not
        // the user. A machine client's token has its client id as the subject anyway.
        let name = claims["preferred_username"]?.string ?? subject
        let principal = Principal(id: Self.principalID(issuer: issuer, subject: subject), name: String(name.prefix(200)), role: role)
        return .success(PayloadFacts(principal: principal, expires: expires, notBefore: claims["nbf"]?.finiteNumber,
                                     issuedAt: claims["iat"]?.finiteNumber))
    }

    private func checkTimes(_ facts: PayloadFacts, now: Double) -> Result<Principal, Refusal> {
        let leeway = Double(settings.leewaySeconds)
        guard now < facts.expires + leeway else {
            return .failure(Refusal(reason: "the token expired at \(Self.timestamp(facts.expires))"))
        }
        if let notBefore = facts.notBefore, now + leeway < notBefore {
            return .failure(Refusal(reason: "the token is not valid before \(Self.timestamp(notBefore))"))
        }
        if let issuedAt = facts.issuedAt, now + leeway < issuedAt {
            return .failure(Refusal(reason: "the token is issued in the future (\(Self.timestamp(issuedAt)))"))
        }
        return .success(facts.principal)
    }

    /// `oidc:` + the first 12 bytes of SHA-256(issuer NUL subject) in hex.
    public static func principalID(issuer: String, subject: String) -> String {
        let digest = SHA256.hash(data: Data((issuer + "\u{0}" + subject).utf8))
        return "oidc:" + digest.prefix(12).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    private static func timestamp(_ seconds: Double) -> String {
        // Dates far outside what a formatter handles are shown as the number they are.
        guard (-62_135_596_800.0...253_402_300_799.0).contains(seconds) else { return String(seconds) }
        return Date(timeIntervalSince1970: seconds).formatted(.iso8601)
    }
}

/// Whether the identity provider's keys are loaded (for readiness and logs).
public struct OIDCKeyStatus: Sendable, Equatable {
    public var loaded: Bool
    public var keyCount: Int
    /// How many times the JWKS (with discovery when needed) was fetched.
    public var fetches: Int
    public var lastError: String?

    init(_ status: SigningKeyCache.Status) {
        loaded = status.loaded
        keyCount = status.keyCount
        fetches = status.fetches
        lastError = status.lastError
    }
}
