import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
@testable import Validation

/// A deliberately broken deployment for the probe tests: a loopback HTTP proxy in front of a
/// real `ares serve` that adds one fault, so that everything else the probes see is ares's
/// own (correct) behaviour and the one failing check is the fault's.
final class ProbeFaultProxy: Sendable {
    enum Fault: Sendable {
        /// Keys revoked through ares/revokeKey keep working: their requests reach ares with
        /// the admin key instead (the stale-cache bug a revocation check must catch).
        case admitsRevokedKeys(adminKey: String)
        /// A POST body Foundation's JSONSerialization cannot read (malformed JSON, invalid
        /// UTF-8, a number beyond a Double) is answered with HTTP 500 instead of an error.
        case failsOnMalformedJSON
        /// An unknown method is answered with -32600 instead of -32601 (a broken JSON-RPC MUST).
        case wrongCodeForUnknownMethod
    }

    let fault: Fault
    /// The loopback server every fault-injecting stand-in is built on; it hands each request to
    /// the forwarder, which adds the fault.
    let server: LoopbackHTTPServer

    var port: Int { server.port }
    var baseURL: URL { server.baseURL }

    init(upstream: URL, fault: Fault, client: HTTPClient) async throws {
        self.fault = fault
        var base = upstream.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        let forwarder = Forwarder(fault: fault, upstream: base, client: client)
        // The security probes send bodies beyond ares's limit on purpose: ares must refuse them,
        // not the proxy, so its own limit is far above any probe's.
        server = try await LoopbackHTTPServer(maximumBodyBytes: 64 << 20) { head, body in
            let (status, headers, answer) = await forwarder.respond(head, body: body)
            return LoopbackHTTPServer.Reply(status: status, headers: headers, body: answer)
        }
    }

    /// Forwards each request to ares, adding the fault on the way in or out.
    private final class Forwarder: Sendable {
        let fault: Fault
        let upstream: String
        let client: HTTPClient
        /// Secrets of the keys ares/createKey made, by key id; the secrets revoked since.
        let createdKeys = Mutex<[String: String]>([:])
        let revokedSecrets = Mutex<Set<String>>([])

        init(fault: Fault, upstream: String, client: HTTPClient) {
            self.fault = fault
            self.upstream = upstream
            self.client = client
        }

        func respond(_ head: HTTPRequestHead, body: Data) async -> (HTTPResponseStatus, HTTPHeaders, Data) {
            var headers = head.headers
            for name in ["Host", "Content-Length", "Connection", "Transfer-Encoding"] { headers.remove(name: name) }
            let rpcMethod = (ProbeJSON.parse(body) as? [String: Any])?["method"] as? String
            switch fault {
            case .failsOnMalformedJSON where head.method == .POST && !ProbeFaultProxy.isJSON(body):
                return (.internalServerError, ["Content-Type": "text/plain"], Data("Internal Server Error".utf8))
            case let .admitsRevokedKeys(adminKey):
                if let authorization = headers.first(name: "Authorization"), authorization.hasPrefix("Bearer "),
                   revokedSecrets.withLock({ $0.contains(String(authorization.dropFirst("Bearer ".count))) }) {
                    headers.replaceOrAdd(name: "Authorization", value: "Bearer \(adminKey)")
                }
            default:
                break
            }
            var request = HTTPClientRequest(url: upstream + head.uri)
            request.method = head.method
            request.headers = headers
            if !body.isEmpty || head.method == .POST { request.body = .bytes(ByteBuffer(bytes: body)) }
            let status: HTTPResponseStatus
            var responseHeaders = HTTPHeaders()
            var answer: Data
            do {
                let response = try await client.execute(request, timeout: .seconds(60))
                status = response.status
                responseHeaders = response.headers
                answer = Data(try await response.body.collect(upTo: 64 << 20).readableBytesView)
            } catch {
                return (.badGateway, ["Content-Type": "text/plain"], Data("proxy: \(error)".utf8))
            }
            for name in ["Content-Length", "Connection", "Transfer-Encoding"] { responseHeaders.remove(name: name) }
            switch fault {
            case .admitsRevokedKeys:
                let result = ProbeJSON.object(ProbeJSON.parse(answer), "result")
                if rpcMethod == "ares/createKey", let id = ProbeJSON.string(result, "key", "id"), let secret = ProbeJSON.string(result, "secret") {
                    createdKeys.withLock { $0[id] = secret }
                }
                if rpcMethod == "ares/revokeKey", let id = ProbeJSON.string(result, "id"), let secret = createdKeys.withLock({ $0[id] }) {
                    revokedSecrets.withLock { _ = $0.insert(secret) }
                }
            case .wrongCodeForUnknownMethod:
                let text = String(decoding: answer, as: UTF8.self)
                if text.contains("\"code\":-32601") { answer = Data(text.replacingOccurrences(of: "\"code\":-32601", with: "\"code\":-32600").utf8) }
            case .failsOnMalformedJSON:
                break
            }
            return (status, responseHeaders, answer)
        }
    }

    /// Whether a body is one JSON text. Very deep nesting is let through unparsed (ares
    /// refuses it itself), so the check never recurses deeply in the test process.
    static func isJSON(_ body: Data) -> Bool {
        var depth = 0, deepest = 0
        for byte in body {
            if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") { depth += 1; deepest = max(deepest, depth) }
            if byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") { depth -= 1 }
        }
        if deepest > 200 { return true }
        return (try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])) != nil
    }
}

/// Starts `proxy`, runs `body` against it, and stops it again.
func withFaultProxy<T: Sendable>(_ proxy: ProbeFaultProxy, _ body: () async throws -> T) async throws -> T {
    try await proxy.server.whileServing(body)
}
