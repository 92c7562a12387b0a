import Foundation

/// How the web console signs people in with OpenID Connect (authorization code + PKCE): the
/// issuer whose tokens the server accepts and the *public* client (no secret) registered
/// there for the console. Both are public facts — the console reads them from
/// `GET /console/config.json` — and the issuer's origin widens the console's
/// `connect-src`, because the browser fetches the discovery document and exchanges the code
/// at the token endpoint itself.
public struct ConsoleSignIn: Sendable, Equatable {
    /// The issuer URL as configured (`--oidc-issuer`).
    public var issuer: URL
    /// The OAuth2 client id of the console (`--oidc-console-client-id`).
    public var clientID: String

    public init(issuer: URL, clientID: String) {
        self.issuer = issuer
        self.clientID = clientID
    }

    /// The issuer's discovery document (OpenID Connect Discovery 1.0, section 4).
    public var discoveryURL: String {
        var base = issuer.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/.well-known/openid-configuration"
    }

    /// `scheme://host[:port]` of the issuer, as a CSP source; nil when the URL has no host
    /// (the configuration only admits http(s) URLs, so that is not expected).
    public var issuerOrigin: String? {
        guard let components = URLComponents(url: issuer, resolvingAgainstBaseURL: false),
              let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = components.host, !host.isEmpty else { return nil }
        // A host with CSP syntax in it (`;`, `,`, spaces, quotes) would widen the policy: refuse it.
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: ".-[]:"))
        guard host.unicodeScalars.allSatisfy(allowed.contains) else { return nil }
        if let port = components.port { return "\(scheme)://\(host):\(port)" }
        return "\(scheme)://\(host)"
    }

    /// The body of `/console/config.json`.
    var configurationDocument: Data {
        let document: [String: Any] = ["oidc": ["issuer": issuer.absoluteString, "discoveryURL": discoveryURL, "clientId": clientID]]
        return (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }
}
