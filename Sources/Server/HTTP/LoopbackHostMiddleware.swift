import Foundation
import HTTPTypes
import Hummingbird

/// On a server bound to loopback, answers only requests addressed to a loopback name
/// (`Host: localhost`, `127.0.0.1`, `[::1]`, with any port) and refuses requests that a web
/// page of another origin sends (`Origin` not on loopback). Without this, a page that rebinds
/// its own name to 127.0.0.1 (DNS rebinding) talks to the local server as if it were local,
/// which on a `--dev` server means admin rights. The MCP transport specification requires the
/// same Origin check.
struct LoopbackHostMiddleware: RouterMiddleware {
    typealias Context = AresRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let authority = request.head.authority, !Self.isLoopback(authority: authority) {
            return Self.refusal("the Host '\(Self.excerpt(authority))' is not a loopback name; this server listens on loopback only and answers requests for localhost, 127.0.0.1 or [::1]")
        }
        if let origin = request.headers[.origin], !Self.isLoopbackOrigin(origin) {
            return Self.refusal("requests from the web origin '\(Self.excerpt(origin))' are refused; this server listens on loopback only")
        }
        return try await next(request, context)
    }

    /// `host` or `host:port`, the host a loopback name or address.
    static func isLoopback(authority: String) -> Bool {
        // The names clients use nearly always, checked without allocating (every request
        // passes here).
        for name in ["127.0.0.1", "localhost", "[::1]"] where authority.utf8.starts(with: name.utf8) {
            let rest = authority.utf8.dropFirst(name.utf8.count)
            if rest.isEmpty || (rest.first == UInt8(ascii: ":") && rest.dropFirst().allSatisfy { $0 >= 0x30 && $0 <= 0x39 }) { return true }
        }
        let host: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return false }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let rest = authority[authority.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isASCIIDigit)) else { return false }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2, let first = parts.first else { return false }
            if parts.count == 2, !parts[1].allSatisfy(\.isASCIIDigit) { return false }
            host = first
        }
        return isLoopback(host: String(host))
    }

    static func isLoopback(host: String) -> Bool {
        let name = host.lowercased()
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        guard let address = WebhookAddressPolicy.parseLiteral(name) else { return false }
        if address.count == 4 { return address[0] == 127 }
        return address == [UInt8](repeating: 0, count: 15) + [1]
    }

    /// `scheme://host[:port]` with a loopback host; the opaque origin `null` (sandboxed frames,
    /// local files) is not loopback.
    static func isLoopbackOrigin(_ origin: String) -> Bool {
        guard let schemeEnd = origin.range(of: "://") else { return false }
        let scheme = origin[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return false }
        return isLoopback(authority: String(origin[schemeEnd.upperBound...]))
    }

    private static func excerpt(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(100).filter { $0.value >= 0x20 && $0.value < 0x7F }))
    }

    private static func refusal(_ message: String) -> Response {
        let body = (try? JSONRPCResponseWriter.encode(JSONValue.object(["error": .string(message)]))) ?? Data()
        return .json(body, status: .forbidden)
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
