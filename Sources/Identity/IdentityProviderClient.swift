import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Reads the identity provider's discovery document and its JWKS over HTTP, each with a
/// timeout and a size limit: through an injected `HTTPClient`, or, when a TLS configuration is
/// given instead (a private CA), through a client made for each fetch and shut down after it
/// (fetches are minutes apart, so nothing is gained by keeping one, and nothing can leak).
struct IdentityProviderClient: Sendable {
    /// A fetched key set and how long it may be used (from `Cache-Control`, clamped).
    struct FetchedKeys: Sendable {
        var keys: VerificationKeys
        var lifetime: Duration
        var jwksURI: String
    }

    let settings: OIDCSettings
    let http: HTTPClient?
    let tls: TLSConfiguration?

    /// Discovery first when the JWKS location is not known yet (or its last fetch failed).
    func fetchKeys(knownJWKSURI: String?) async throws(IdentityProviderError) -> FetchedKeys {
        let jwksURI: String
        if let knownJWKSURI {
            jwksURI = knownJWKSURI
        } else {
            jwksURI = try await discoverJWKSURI()
        }
        let (body, headers) = try await get(jwksURI, what: "the JWKS")
        let keys = try VerificationKeys.parse(body, maximumKeys: settings.maximumKeys)
        let lifetime = CacheLifetime(headers: headers).clamped(default: settings.defaultKeyLifetime, to: settings.keyLifetimeRange)
        return FetchedKeys(keys: keys, lifetime: lifetime, jwksURI: jwksURI)
    }

    /// The `jwks_uri` of the discovery document, whose `issuer` must be the configured one
    /// (OpenID Connect Discovery 1.0 §4.3: otherwise its keys vouch for someone else's tokens).
    func discoverJWKSURI() async throws(IdentityProviderError) -> String {
        let (body, _) = try await get(settings.discoveryURL, what: "the discovery document")
        guard let document = try? JSONDecoder().decode([String: ClaimValue].self, from: body) else {
            throw IdentityProviderError("the discovery document at \(settings.discoveryURL) is not a JSON object")
        }
        guard let issuer = document["issuer"]?.string else {
            throw IdentityProviderError("the discovery document at \(settings.discoveryURL) names no issuer")
        }
        guard issuer == settings.issuerIdentifier else {
            throw IdentityProviderError("the discovery document names the issuer '\(issuer.prefix(200))', not the configured '\(settings.issuerIdentifier)'")
        }
        guard let jwksURI = document["jwks_uri"]?.string, let url = URL(string: jwksURI),
              let scheme = url.scheme?.lowercased(), url.host != nil else {
            throw IdentityProviderError("the discovery document at \(settings.discoveryURL) has no usable jwks_uri")
        }
        // Keys fetched in the clear would let anyone on the path swap them: an https issuer's
        // keys must come over https too.
        let issuerIsHTTPS = settings.issuer.scheme?.lowercased() == "https"
        guard scheme == "https" || (scheme == "http" && !issuerIsHTTPS) else {
            throw IdentityProviderError("the jwks_uri '\(jwksURI.prefix(200))' must use https like the issuer")
        }
        return jwksURI
    }

    /// A duration in whole milliseconds, saturating instead of overflowing.
    static func milliseconds(_ duration: Duration) -> Int64 {
        let (whole, overflow) = duration.components.seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return duration.components.seconds < 0 ? 0 : Int64.max }
        let (total, sumOverflow) = whole.addingReportingOverflow(duration.components.attoseconds / 1_000_000_000_000_000)
        return sumOverflow ? Int64.max : max(total, 0)
    }

    private func get(_ url: String, what: String) async throws(IdentityProviderError) -> (Data, HTTPHeaders) {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        let timeout = TimeAmount.milliseconds(Self.milliseconds(settings.requestTimeout))
        if let http { return try await get(request, url: url, what: what, timeout: timeout, with: http) }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .follow(max: 3, allowCycles: false),
                                                     timeout: .init(connect: timeout, read: timeout))
        configuration.httpVersion = .http1Only
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let result: Result<(Data, HTTPHeaders), IdentityProviderError>
        do { result = .success(try await get(request, url: url, what: what, timeout: timeout, with: client)) } catch { result = .failure(error) }
        try? await client.shutdown()
        return try result.get()
    }

    private func get(_ request: HTTPClientRequest, url: String, what: String, timeout: TimeAmount,
                     with http: HTTPClient) async throws(IdentityProviderError) -> (Data, HTTPHeaders) {
        do {
            let response = try await http.execute(request, timeout: timeout)
            guard response.status == .ok else {
                throw IdentityProviderError("\(what) at \(url) answered HTTP \(response.status.code)")
            }
            if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > settings.maximumDocumentBytes {
                throw IdentityProviderError("\(what) at \(url) is larger than \(settings.maximumDocumentBytes) bytes")
            }
            let buffer = try await response.body.collect(upTo: settings.maximumDocumentBytes)
            return (Data(buffer.readableBytesView), response.headers)
        } catch let error as IdentityProviderError {
            throw error
        } catch is NIOTooManyBytesError {
            throw IdentityProviderError("\(what) at \(url) is larger than \(settings.maximumDocumentBytes) bytes")
        } catch {
            throw IdentityProviderError("\(what) at \(url) cannot be read: \(error)")
        }
    }
}
