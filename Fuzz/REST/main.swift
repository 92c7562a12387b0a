// fuzz-rest: the HTTP+JSON binding of A2A (`/rest/...`): Hummingbird's router matching the
// path, A2ARESTBinding taking the method, the task id and push-config id from the path, the
// params from the query string or the JSON body, API-key authentication, then the real A2A
// methods over the real components (FuzzServer). Requests go to the router's responder in
// process (no sockets), through the middleware AresServer installs (request log, loopback Host
// check, authentication); only the REST routes are mounted (so `ares/ingest` is out of reach).
//
// Input: a small HTTP request in text:
//
//     POST /rest/tasks/@T0@:cancel?historyLength=1
//     Authorization: Bearer @KEY_ADMIN@
//     Content-Type: application/json
//     A2A-Version: 1.0
//
//     {"body": "json"}
//
// the first line is the method and the target, header lines follow (`Host:` sets the
// authority, else localhost), an empty line ends them and the rest is the body. Placeholders such as @T0@ and @KEY_ADMIN@ are the fixtures' task
// ids and API keys (FuzzServer).
import Foundation
import FuzzServerSupport
import FuzzSupport
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
@testable import Server

final class RESTFuzzTarget: FuzzTarget, @unchecked Sendable {
    private var server: FuzzServer
    private var responder: RouterResponder<AresRequestContext>
    private let channel = NIOAsyncTestingChannel()
    private let logger = Logger(label: "fuzz-rest", factory: { _ in SwiftLogNoOpLogHandler() })
    static let submissionsPerEnvironment = 150

    init() {
        (server, responder) = runBlocking { try! await Self.makeEnvironment() }
    }

    static func makeEnvironment() async throws -> (FuzzServer, RouterResponder<AresRequestContext>) {
        let server = try await FuzzServer.open()
        let methods = server.jsonRPCMethods()
        let configuration = server.configuration
        // As AresServer.makeApplication mounts it: the same middleware, then only the REST routes.
        let router = Router(context: AresRequestContext.self)
        router.add(middleware: RequestLogMiddleware(logger: server.logger, metrics: server.metrics, logRequests: configuration.logRequests))
        if ServerConfiguration.isLoopback(configuration.host) { router.add(middleware: LoopbackHostMiddleware()) }
        router.add(middleware: AuthenticationMiddleware(access: server.access, metrics: server.metrics, logger: server.logger))
        A2ARESTBinding(methods: methods.a2a + methods.ares, maximumBodyBytes: configuration.maximumBodyBytes, rateLimiter: nil, logger: server.logger)
            .register(on: router)
        return (server, router.buildResponder())
    }

    func run(_ input: UnsafeRawBufferPointer) {
        let server = self.server, responder = self.responder
        let bytes = server.substitute(Array(input))
        let separator: [UInt8] = [0x0A, 0x0A]
        var headEnd = bytes.count, bodyStart = bytes.count
        if let found = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) {
            headEnd = found
            bodyStart = found + 2
        }
        let head = String(decoding: bytes[..<headEnd], as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard let requestLine = head.first else { return }
        let parts = requestLine.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, let method = HTTPRequest.Method(String(parts[0])) else { return }
        var fields = HTTPFields()
        var authority = "localhost"
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":"), let name = HTTPField.Name(String(line[..<colon])) else { continue }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            // HTTP/1's Host header is the request's authority (as NIOHTTPTypesHTTP1 converts it).
            if name.canonicalName == "host" { authority = value } else { fields.append(HTTPField(name: name, value: value)) }
        }
        let request = Request(
            head: HTTPRequest(method: method, scheme: "http", authority: authority, path: String(parts[1]), headerFields: fields),
            body: RequestBody(buffer: ByteBuffer(bytes: bytes[bodyStart...])))
        let context = AresRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: logger))
        let submitted = runBlocking { () -> Bool in
            let response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                return false  // no route: Hummingbird answers 404
            }
            let collector = BodyCollector()
            let isStream = response.headers[.contentType]?.hasPrefix("text/event-stream") ?? false
            await withTimeLimit(.seconds(10)) {
                try? await response.body.write(collector)
            }
            if !isStream, response.headers[.contentType]?.hasPrefix("application/json") == true {
                let body = collector.data
                if (try? JSONSerialization.jsonObject(with: body, options: .fragmentsAllowed)) == nil {
                    fuzzFailure("\(method) \(parts[1].prefix(80)) answered \(response.status.code) with a body that is not JSON: \(String(decoding: body.prefix(300), as: UTF8.self))")
                }
            }
            await server.waitUntilIdle()
            return parts[1].hasPrefix("/rest/message:") && response.status == .ok
        }
        if submitted { server.submissions += 1 }
        if server.submissions >= Self.submissionsPerEnvironment {
            runBlocking { await server.close() }
            (self.server, self.responder) = runBlocking { try! await Self.makeEnvironment() }
        }
    }
}

/// Collects a response body (at most 4 MB; the rest is dropped).
final class BodyCollector: ResponseBodyWriter, @unchecked Sendable {
    private(set) var data = Data()

    func write(_ buffer: ByteBuffer) async throws {
        guard data.count < 4 << 20 else { return }
        data.append(contentsOf: buffer.readableBytesView)
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

FuzzDriver.run(RESTFuzzTarget())
