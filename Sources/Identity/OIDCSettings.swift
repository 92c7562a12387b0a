import Foundation
import Security

/// What `OIDCTokenVerifier` accepts: the issuer and audience tokens must name, where their
/// roles are, and the limits that keep a hostile token or identity provider from costing much.
public struct OIDCSettings: Sendable, Equatable {
    /// The issuer exactly as its tokens' `iss` and its discovery document's `issuer` spell it.
    public var issuer: URL
    /// The audience (`aud`) a token must contain.
    public var audience: String
    /// A dotted path (`realm_access.roles`) to an array of strings or a space-separated string (`scope`).
    public var roleClaim: String
    public var roleMap: RoleMap
    /// Clock difference tolerated for `exp`, `nbf` and `iat` (0...300 s).
    public var leewaySeconds: Int

    /// Longer bearer credentials are refused unread (real access tokens are 1–4 kB).
    public var maximumTokenBytes = 16 * 1024
    /// The discovery document and the JWKS are read up to this size.
    public var maximumDocumentBytes = 256 * 1024
    /// Keys beyond this many in one JWKS are ignored.
    public var maximumKeys = 64
    /// Each call to the identity provider (connect and read) ends after this long.
    public var requestTimeout: Duration = .seconds(5)
    /// At most one JWKS fetch per interval, however many tokens name an unknown key: a flood
    /// of forged `kid`s cannot hammer the identity provider.
    public var minimumRefetchInterval: Duration = .seconds(10)
    /// How long keys are used before they are refreshed when the JWKS response has no
    /// `Cache-Control: max-age`; a given max-age is clamped to `keyLifetimeRange`.
    public var defaultKeyLifetime: Duration = .seconds(300)
    public var keyLifetimeRange: ClosedRange<Duration> = .seconds(30)...(.seconds(86_400))

    public init(issuer: URL, audience: String, roleClaim: String = "roles", roleMap: RoleMap, leewaySeconds: Int = 30) throws(OIDCSettingsError) {
        guard let scheme = issuer.scheme?.lowercased(), scheme == "https" || scheme == "http",
              let host = issuer.host, !host.isEmpty else {
            throw OIDCSettingsError("the OIDC issuer '\(issuer.absoluteString)' must be an http(s) URL with a host")
        }
        guard issuer.query == nil, issuer.fragment == nil else {
            throw OIDCSettingsError("the OIDC issuer '\(issuer.absoluteString)' must not have a query or a fragment")
        }
        guard !audience.isEmpty, audience.utf8.count <= 1024 else {
            throw OIDCSettingsError("the OIDC audience must be 1 to 1024 bytes")
        }
        let segments = roleClaim.split(separator: ".", omittingEmptySubsequences: false)
        guard !roleClaim.isEmpty, !segments.contains(where: \.isEmpty) else {
            throw OIDCSettingsError("the OIDC role claim '\(roleClaim)' must be a claim name or a dotted path like realm_access.roles")
        }
        guard !roleMap.isEmpty else {
            throw OIDCSettingsError("the OIDC role map is empty, so no token could be given a role")
        }
        guard (0...300).contains(leewaySeconds) else {
            throw OIDCSettingsError("the OIDC leeway must be 0 to 300 seconds, not \(leewaySeconds)")
        }
        self.issuer = issuer
        self.audience = audience
        self.roleClaim = roleClaim
        self.roleMap = roleMap
        self.leewaySeconds = leewaySeconds
    }

    /// The issuer as tokens must name it.
    public var issuerIdentifier: String { issuer.absoluteString }

    /// `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4).
    public var discoveryURL: String {
        var base = issuer.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/.well-known/openid-configuration"
    }
}

/// An OIDC setting that cannot work; the message names it and what is accepted.
public struct OIDCSettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
