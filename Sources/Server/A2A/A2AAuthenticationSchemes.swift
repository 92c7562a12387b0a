/// How clients may authenticate to this server, for the agent card's `securitySchemes`: an
/// A2A client reads them to learn which credentials to send. Only what is configured is
/// declared.
public struct A2AAuthenticationSchemes: Sendable, Equatable {
    /// ares API keys (always accepted: `ares keys create`).
    public var apiKeys: Bool
    /// The OpenID Connect discovery document of the issuer whose tokens are accepted.
    public var openIDConnectDiscoveryURL: String?
    /// Whether verified client certificates authenticate (mutual TLS).
    public var mutualTLS: Bool

    public init(apiKeys: Bool = true, openIDConnectDiscoveryURL: String? = nil, mutualTLS: Bool = false) {
        self.apiKeys = apiKeys
        self.openIDConnectDiscoveryURL = openIDConnectDiscoveryURL
        self.mutualTLS = mutualTLS
    }

    /// The card's `securitySchemes` (A2A 1.0 JSON names).
    var securitySchemes: [String: JSONValue] {
        var schemes: [String: JSONValue] = [:]
        if apiKeys {
            schemes["bearer"] = .object(["httpAuthSecurityScheme": .object([
                "scheme": .string("Bearer"), "bearerFormat": .string(openIDConnectDiscoveryURL == nil ? "ares API key (ares keys create)" : "ares API key or JWT"),
                "description": .string(openIDConnectDiscoveryURL == nil
                    ? "An ares API key as a bearer token."
                    : "An ares API key, or an access token (JWT) of the OpenID Connect issuer, as a bearer token."),
            ])])
            schemes["apiKey"] = .object(["apiKeySecurityScheme": .object([
                "location": .string("header"), "name": .string("X-API-Key"),
                "description": .string("An ares API key in the X-API-Key header."),
            ])])
        }
        if let openIDConnectDiscoveryURL {
            schemes["oidc"] = .object(["openIdConnectSecurityScheme": .object([
                "openIdConnectUrl": .string(openIDConnectDiscoveryURL),
                "description": .string("An access token from this OpenID Connect provider (client credentials for services), sent as 'Authorization: Bearer <token>'."),
            ])])
        }
        if mutualTLS {
            schemes["mtls"] = .object(["mtlsSecurityScheme": .object([
                "description": .string("A client certificate signed by the server's client CA, presented in the TLS handshake."),
            ])])
        }
        return schemes
    }

    /// One requirement per scheme: any one of them is enough.
    var securityRequirements: [JSONValue] {
        securitySchemes.keys.sorted().map { .object(["schemes": .object([$0: .object(["list": .array([])])])]) }
    }
}
