import Foundation
import HTTPTypes
import Hummingbird
import Instrumentation
import ServiceContextModule
import Tracing
import Knowledge
import NIOCore
import Security
import Storage

/// The routes and how each turns its protocol's answer into an HTTP response.
struct Routes: Sendable {
    let configuration: ServerConfiguration
    let components: ServerComponents
    let cards: AgentCardProvider
    let endpoint: JSONRPCEndpoint
    let mcp: MCPEndpoint

    func register(on router: Router<AresRequestContext>) {
        router.get("/health/live") { _, _ in Self.json(#"{"status":"ok"}"#) }
        router.get("/health/ready") { _, _ in await ready() }
        router.get("/.well-known/agent-card.json") { request, _ in agentCard(request) }
        router.get("/metrics") { request, context in metrics(request, context: context) }
        router.post("/a2a") { request, context in await jsonRPC(request, context: context) }
        router.post("/mcp") { request, context in await mcp.post(request, context: context, maximumBodyBytes: configuration.maximumBodyBytes) }
        router.get("/mcp") { _, _ in MCPEndpoint.noStream() }
        router.delete("/mcp") { _, _ in MCPEndpoint.noStream() }
    }

    private func ready() async -> Response {
        var checks: [String: JSONValue] = [:]
        var ready = true
        for check in components.readinessChecks {
            let outcome = await check.check()
            checks[check.name] = .string(outcome.detail)
            if !outcome.ready { ready = false }
        }
        if let covering = components.readinessChecks.first(where: \.coversEventStore) {
            checks["eventStore"] = .string("see \(covering.name)")
        } else {
            do {
                // One indexed read of a stream that does not exist: proves the store answers
                // without listing every task.
                _ = try await components.store.read(stream: "health-probe", afterVersion: 0)
                checks["eventStore"] = .string("ok")
            } catch {
                ready = false
                checks["eventStore"] = .string("failing: \(error)")
            }
        }
        // Whether writes are taken: a full disk or read-only file system leaves reads working
        // (liveness stays ok: a restart would not free space) but takes the server out of
        // rotation with the reason, until a write commits again (re-tried here).
        if let writability = components.store.writability {
            switch await writability.recheck() {
            case .writable:
                checks["storage"] = .string("ok: writable")
            case let .unwritable(refused, since):
                ready = false
                checks["storage"] = .string("not writable since \(since.formatted(.iso8601)): \(refused.reason.rawValue) (\(refused.detail)); reads are served, writes answer 503 until it is writable again")
            }
        }
        // A knowledge base the composition checks itself (the shared one: loading, or loaded) is not probed here.
        if !components.readinessChecks.contains(where: { $0.name == "knowledgeBase" }) {
            do {
                let counts = try await components.knowledge.counts()
                checks["knowledgeBase"] = .string("ok: \(counts.documents) documents, \(counts.chunks) passages")
            } catch {
                ready = false
                checks["knowledgeBase"] = .string("failing: \(error)")
            }
        }
        checks["tasks"] = .string("\(components.runner.runningCount) running, \(components.runner.queuedCount) queued")
        // A server whose commits have not reached the backup for longer than the limit would
        // lose them with the machine: out of rotation until shipping works again.
        if let shipping = components.backupShipping {
            let status = shipping.readiness()
            if !status.ready { ready = false }
            checks["backupShipping"] = .string(status.detail)
        }
        // Informational: without the provider's keys only token holders are refused (API keys
        // work), and taking the server out of rotation would not bring the provider back.
        if let status = components.access.tokens?.keyStatus {
            checks["identityProvider"] = .string(status.loaded ? "ok: \(status.keyCount) signing keys loaded"
                                                                : "keys not loaded: \(status.lastError ?? "not fetched yet")")
        }
        let body = (try? JSONRPCResponseWriter.encode(JSONValue.object(["status": .string(ready ? "ready" : "not ready"), "checks": .object(checks)]))) ?? Data()
        return .json(body, status: ready ? .ok : .serviceUnavailable)
    }

    private func agentCard(_ request: Request) -> Response {
        let card = cards.current
        var headers: HTTPFields = [.eTag: card.etag, .cacheControl: "public, max-age=300", .lastModified: card.lastModified]
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == card.etag || $0.trimmingCharacters(in: .whitespaces) == "*" }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: card.publicCard)))
    }

    private func metrics(_ request: Request, context: AresRequestContext) -> Response {
        guard context.principal != nil else {
            let refused = JSONRPCError.refusing(context.authentication)
            return refusal(HTTPResponse.Status(code: refused.httpStatus), refused.message)
        }
        let runner = components.runner
        components.backupShipping?.updateGauges()
        components.metrics.recordStorage(components.store.writability)
        let text = components.metrics.exposition(queued: runner.queuedCount, running: runner.runningCount,
                                                 maximumQueued: runner.limits.maximumQueued, maximumRunning: runner.limits.maximumRunning)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: text)))
    }

    private func refusal(_ status: HTTPResponse.Status, _ message: String) -> Response {
        .json((try? JSONRPCResponseWriter.encode(JSONValue.object(["error": .string(message)]))) ?? Data(), status: status)
    }

    private func jsonRPC(_ request: Request, context: AresRequestContext) async -> Response {
        var request = request
        // Who is calling was decided from the headers alone: an anonymous or forged request is
        // answered before its body is read, so it costs the server no memory.
        guard context.principal != nil else {
            context.record.operation = "(unauthenticated)"
            return Self.response(JSONRPCEndpoint.errorReply(.refusing(context.authentication), id: .null))
        }
        let authentication = context.authentication
        if let contentType = request.headers[.contentType], !Self.isJSON(contentType) {
            context.record.operation = "(unsupported content type)"
            return Self.response(JSONRPCEndpoint.errorReply(
                A2AError.contentTypeNotSupported("the request body must be application/json (got '\(contentType.prefix(100))')"), id: .null))
        }
        let data: Data
        do {
            data = try await request.collectBody(limit: configuration.maximumBodyBytes)
        } catch {
            return Self.response(JSONRPCEndpoint.errorReply(error, id: .null))
        }
        var traceContext = ServiceContext.current ?? .topLevel
        InstrumentationSystem.instrument.extract(request.headers, into: &traceContext, using: HTTPFieldsExtractor())
        let principal = context.record.principal
        let version = request.headers[.a2aVersion]
        let endpoint = self.endpoint
        return await withSpan("a2a", context: traceContext, ofKind: .server) { span in
            let handled = await endpoint.handle(body: data, authentication: authentication, protocolVersion: version)
            let (reply, method) = (handled.reply, handled.method)
            context.record.operation = method ?? "(invalid)"
            context.record.outcome = handled.outcome
            span.operationName = method ?? "a2a (invalid request)"
            span.attributes["rpc.system"] = "jsonrpc"
            span.attributes["rpc.method"] = method ?? "(invalid)"
            if let principal { span.attributes["ares.principal"] = principal }
            if case let .single(status, _, _) = reply {
                span.attributes["http.response.status_code"] = Int64(status)
                if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
            }
            return Self.response(reply)
        }
    }

    static func response(_ reply: JSONRPCHTTPReply) -> Response {
        switch reply {
        case let .single(status, body, retryAfter):
            return .json(body, status: HTTPResponse.Status(code: status), retryAfterSeconds: retryAfter)
        case let .events(frames, closing):
            return .eventStream { writer in
                let stopped = try await ShutdownAwareStreaming.forEach(frames) { frame in
                    try await writer.write(ServerSentEvent.frame(frame))
                }
                if stopped { try await writer.write(ServerSentEvent.frame(closing)) }
            }
        case .accepted:
            return Response(status: .accepted)
        }
    }

    /// application/json, or any `+json` type, with or without parameters.
    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return mediaType == "application/json" || mediaType.hasSuffix("+json")
    }

    static func json(_ text: String) -> Response {
        .json(Data(text.utf8))
    }
}
