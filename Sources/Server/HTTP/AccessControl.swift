import Foundation
import HTTPTypes
import Hummingbird
import Identity
import Security

/// Finds the principal behind a request: an API key or an OIDC access token (a JWT) in
/// `Authorization: Bearer`, or an API key in `X-API-Key`; with neither, nobody, except on a
/// `--dev` server, where a request without credentials acts as the local admin. Deny unless a
/// rule allows.
///
/// The credential's shape decides who checks it: three base64url parts separated by dots go
/// to the OIDC verifier (when one is configured), anything else to the API keys, so keys and
/// tokens work side by side and a key never costs a token check.
public struct AccessControl: Sendable {
    public var authenticator: APIKeyAuthenticator?
    /// Nil: this server accepts no OIDC tokens.
    public var tokens: OIDCTokenVerifier?
    public var developmentMode: Bool

    public init(authenticator: APIKeyAuthenticator?, tokens: OIDCTokenVerifier? = nil, developmentMode: Bool) {
        self.authenticator = authenticator
        self.tokens = tokens
        self.developmentMode = developmentMode
    }

    /// The refusal of a JWT on a server without an OIDC issuer.
    public static let tokensNotAccepted = "this server does not accept OIDC tokens (no --oidc-issuer is configured); use an ares API key"

    /// Spaces and tabs off both ends (Foundation's character-set trimming costs more than a
    /// whole key check, on every request).
    private static func trimmed(_ text: Substring) -> String {
        func isBlank(_ character: Character) -> Bool { character == " " || character == "\t" }
        var start = text.startIndex
        var end = text.endIndex
        while start < end, isBlank(text[start]) { start = text.index(after: start) }
        while end > start, isBlank(text[text.index(before: end)]) { end = text.index(before: end) }
        return String(text[start..<end])
    }

    public func authenticate(_ headers: HTTPFields) async -> RequestAuthentication {
        var presented: String?
        if let authorization = headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                return .rejected(tokens == nil ? "the Authorization header must be 'Bearer <ares API key>'"
                                               : "the Authorization header must be 'Bearer <ares API key or OIDC access token>'")
            }
            presented = Self.trimmed(parts[1])
        } else if let key = headers[.apiKey] {
            presented = Self.trimmed(Substring(key))
        }
        guard let presented else { return developmentMode ? .principal(.localDevelopmentAdmin) : .missing }
        // API keys start with "ares_" and have no dot: they skip the JWT shape check entirely.
        if !presented.hasPrefix(APIKeyToken.prefix), OIDCTokenVerifier.looksLikeJWT(presented) {
            guard let tokens else { return .rejected(Self.tokensNotAccepted) }
            switch await tokens.verify(presented) {
            case let .authenticated(principal): return .principal(principal)
            case let .rejected(reason): return .rejected(reason)
            case let .unavailable(reason): return .unavailable(reason)
            }
        }
        guard let authenticator else { return .rejected("this server has no API keys configured") }
        switch await authenticator.authenticateReloadingBeforeRefusal(presented) {
        case let .authenticated(principal): return .principal(principal)
        case let .rejected(reason): return .rejected(reason)
        case let .unavailable(reason): return .unavailable(reason)
        }
    }
}
