import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Serves the web console: `/` is its page, `/console/<file>` its scripts, styles and icon,
/// all compiled into the binary. These routes are public (the files hold no data; every
/// data call the console makes goes through the authenticated API with the key the user
/// typed). Each answer carries a Content-Security-Policy that allows scripts and styles
/// from this origin only (no inline script, no `eval`), refuses framing, sends no referrer
/// and sets no cookie; assets revalidate by ETag, so a reload transfers nothing new.
/// With OIDC sign-in configured, `/console/config.json` names the issuer and the console's
/// public client id, and `connect-src` also admits the issuer's origin (the browser reads the
/// discovery document and exchanges the code there); without it the file says `{}`.
struct ConsoleRoutes: Sendable {
    let assets: ConsoleAssets
    let signIn: ConsoleSignIn?
    let securityHeaders: HTTPFields

    init(assets: ConsoleAssets, signIn: ConsoleSignIn? = nil) {
        self.assets = assets
        self.signIn = signIn
        var headers = Self.securityHeaders
        headers[.contentSecurityPolicy] = Self.contentSecurityPolicy(connectingTo: signIn?.issuerOrigin)
        securityHeaders = headers
    }

    static let contentSecurityPolicy = contentSecurityPolicy(connectingTo: nil)

    static func contentSecurityPolicy(connectingTo issuerOrigin: String?) -> String {
        [
            "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
            issuerOrigin.map { "connect-src 'self' \($0)" } ?? "connect-src 'self'",
            "font-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
        ].joined(separator: "; ")
    }

    func register(on router: Router<AresRequestContext>) {
        router.get("/") { request, _ in serve("index.html", request) }
        router.get("/console/{file}") { request, context in serve(context.parameters.get("file") ?? "", request) }
    }

    func serve(_ name: String, _ request: Request) -> Response {
        var headers = securityHeaders
        if name == "config.json" {
            // Built per server, so never cached: a restart with another issuer is seen at once.
            headers[.contentType] = "application/json"
            headers[.cacheControl] = "no-store"
            let body = signIn?.configurationDocument ?? Data("{}".utf8)
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        guard let asset = assets[name] else {
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: .notFound, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "no such console file\n")))
        }
        let gzip = Self.acceptsGzip(request.headers[.acceptEncoding])
        let etag = gzip ? asset.gzipETag : asset.etag
        headers[.eTag] = etag
        // Revalidate every time: a new build's console is picked up at the next load, and an
        // unchanged file costs one 304 without a body.
        headers[.cacheControl] = "no-cache"
        headers[.vary] = "Accept-Encoding"
        if let match = request.headers[.ifNoneMatch],
           match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.mediaType
        if gzip { headers[.contentEncoding] = "gzip" }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: gzip ? asset.gzipBody : asset.body)))
    }

    static var securityHeaders: HTTPFields {
        var headers = HTTPFields()
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.xContentTypeOptions] = "nosniff"
        headers[.referrerPolicy] = "no-referrer"
        headers[.xFrameOptions] = "DENY"
        headers[.crossOriginOpenerPolicy] = "same-origin"
        headers[.crossOriginResourcePolicy] = "same-origin"
        return headers
    }

    /// `gzip` listed in Accept-Encoding with a quality above 0 (or none).
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        return header.split(separator: ",").contains { item in
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard parts.first == "gzip" else { return false }
            guard let quality = parts.dropFirst().first(where: { $0.hasPrefix("q=") }) else { return true }
            return (Double(quality.dropFirst(2)) ?? 0) > 0
        }
    }
}

/// Response headers of the console that swift-http-types has no name for.
private extension HTTPField.Name {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let crossOriginOpenerPolicy = HTTPField.Name("Cross-Origin-Opener-Policy")!
}
