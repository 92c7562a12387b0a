import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
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
    private let upstream: String
    private let client: HTTPClient
    private let server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    private let connections = Mutex<[any Channel]>([])
    /// Secrets of the keys ares/createKey made, by key id; the secrets revoked since.
    private let createdKeys = Mutex<[String: String]>([:])
    private let revokedSecrets = Mutex<Set<String>>([])

    var port: Int { server.channel.localAddress?.port ?? 0 }
    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)") ?? URL(fileURLWithPath: "/") }

    init(upstream: URL, fault: Fault, client: HTTPClient) async throws {
        self.fault = fault
        self.client = client
        var base = upstream.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        self.upstream = base
        server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Accepts connections until `stop()`.
    func serve() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    connections.withLock { $0.append(connection.channel) }
                    group.addTask { try? await self.handle(connection) }
                }
            }
        }
    }

    /// Closes the listening socket and every open connection, so that `serve()` returns.
    func stop() async {
        try? await server.channel.close()
        for channel in connections.withLock({ $0 }) { try? await channel.close() }
    }

    private func handle(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case let .head(requestHead):
                    head = requestHead
                    body.clear()
                case var .body(chunk):
                    body.writeBuffer(&chunk)
                case .end:
                    guard let requestHead = head else { continue }
                    let (status, headers, answer) = await respond(requestHead, body: Data(body.readableBytesView))
                    var responseHeaders = headers
                    responseHeaders.replaceOrAdd(name: "Content-Length", value: String(answer.count))
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: responseHeaders)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: answer))))
                    try await outbound.write(.end(nil))
                    head = nil
                }
            }
        }
    }

    private func respond(_ head: HTTPRequestHead, body: Data) async -> (HTTPResponseStatus, HTTPHeaders, Data) {
        var headers = head.headers
        for name in ["Host", "Content-Length", "Connection", "Transfer-Encoding"] { headers.remove(name: name) }
        let rpcMethod = (ProbeJSON.parse(body) as? [String: Any])?["method"] as? String
        switch fault {
        case .failsOnMalformedJSON where head.method == .POST && !Self.isJSON(body):
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
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await proxy.serve() }
        do {
            let result = try await body()
            await proxy.stop()
            try await group.waitForAll()
            return result
        } catch {
            await proxy.stop()
            group.cancelAll()
            throw error
        }
    }
}
