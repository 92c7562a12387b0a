import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Security
import Synchronization

/// MCP over streamable HTTP at `/mcp`, stateless: no session id is issued, so clients send
/// every request as a POST and need no GET stream. A request is answered with JSON, or, for
/// a `tools/call` from a client that accepts event streams, with SSE carrying keep-alive
/// comments while a long task runs (clients give up on a silent connection after minutes).
public struct MCPEndpoint: Sendable {
    public var dispatcher: MCPDispatcher
    public var metrics: ServerMetrics
    public var keepAliveInterval: Duration
    /// Each principal's request rate; nil: unlimited.
    public var rateLimiter: PrincipalRateLimiter?

    public init(dispatcher: MCPDispatcher, metrics: ServerMetrics, rateLimiter: PrincipalRateLimiter? = nil, keepAliveInterval: Duration = .seconds(15)) {
        self.rateLimiter = rateLimiter
        self.dispatcher = dispatcher
        self.metrics = metrics
        self.keepAliveInterval = keepAliveInterval
    }

    func post(_ request: Request, context: AresRequestContext, maximumBodyBytes: Int) async -> Response {
        var request = request
        // Credentials were checked from the headers: nobody unauthenticated gets a body read.
        guard let principal = context.principal else {
            context.record.operation = "mcp (unauthenticated)"
            return Routes.response(JSONRPCEndpoint.errorReply(.refusing(context.authentication), id: .null))
        }
        // Only JSON: a browser sends text/plain cross-site without asking first (no CORS
        // preflight), so accepting it would let any web page post to a local server.
        guard let contentType = request.headers[.contentType], Routes.isJSON(contentType) else {
            context.record.operation = "mcp (unsupported content type)"
            let given = request.headers[.contentType].map { "got '\($0.prefix(100))'" } ?? "none was given"
            return Routes.response(JSONRPCEndpoint.errorReply(
                .invalidRequest("the request body must be application/json (\(given))", httpStatus: 415), id: .null))
        }
        let body: Data
        do {
            body = try await request.collectBody(limit: maximumBodyBytes)
        } catch {
            return Routes.response(JSONRPCEndpoint.errorReply(error, id: .null))
        }
        let incoming: MCPDispatcher.Incoming
        switch dispatcher.parse(body) {
        case let .success(parsed): incoming = parsed
        case let .failure(error): return Routes.response(JSONRPCEndpoint.errorReply(error, id: .null))
        }
        context.record.operation = Self.operationLabel(incoming)
        if let permission = dispatcher.permission(for: incoming), !principal.can(permission) {
            return Routes.response(JSONRPCEndpoint.errorReply(
                .forbidden("the role '\(principal.role.rawValue)' may not call the tool \(incoming.toolName ?? "?") (it needs \(permission.minimumRole.rawValue) or above)"), id: incoming.id))
        }
        if incoming.isNotification {
            return Response(status: .accepted)
        }
        do {
            // Handshake and listing are reads; a tool call is counted by what the tool does.
            try rateLimiter?.check(principal, RequestClass(dispatcher.permission(for: incoming) ?? .readTasks))
        } catch {
            return Routes.response(JSONRPCEndpoint.errorReply(error, id: incoming.id))
        }
        let acceptsEvents = request.headers[.accept]?.contains("text/event-stream") ?? false
        context.record.outcome = "ok"
        if incoming.method == "tools/call", acceptsEvents {
            return eventStream(incoming, principal: principal)
        }
        let answer = await dispatcher.handle(incoming, principal: principal) ?? Data()
        return .json(answer)
    }

    /// GET and DELETE: stateless, so there is no server-initiated stream to open and no session
    /// to end; every answer travels on the POST that asked for it.
    static func noStream() -> Response {
        Response(status: .methodNotAllowed, headers: [.allow: "POST"])
    }

    private func eventStream(_ incoming: MCPDispatcher.Incoming, principal: Principal) -> Response {
        let dispatcher = self.dispatcher
        let interval = keepAliveInterval
        return .eventStream { writer in
            // The answer and a keep-alive ticker run as child tasks; the ticks are written
            // until the answer is there. At shutdown the answer is canceled, which makes a
            // research call answer at once with its task's id and current state (the task is
            // kept and resumes at the next start).
            let (ticks, tick) = AsyncStream.makeStream(of: Void.self)
            let answer = try await withThrowingTaskGroup(of: Data?.self) { group in
                group.addTask {
                    let data = await dispatcher.handle(incoming, principal: principal) ?? Data()
                    tick.finish()
                    return data
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        tick.yield()
                    }
                    return nil
                }
                _ = try await ShutdownAwareStreaming.forEach(ticks) { _ in try await writer.write(ServerSentEvent.keepAlive) }
                group.cancelAll()
                var answer: Data?
                for try await result in group { answer = answer ?? result }
                return answer
            }
            try await writer.write(ServerSentEvent.frame(answer ?? Data(), event: "message"))
        }
    }

    /// The method (and tool) as a metrics label: names the client made up are one label, so
    /// that the set of series stays fixed.
    static func operationLabel(_ incoming: MCPDispatcher.Incoming) -> String {
        let methods: Set<String> = ["initialize", "ping", "tools/list", "tools/call", "notifications/initialized", "notifications/cancelled"]
        guard methods.contains(incoming.method) else { return "mcp (unknown method)" }
        guard incoming.method == "tools/call" else { return "mcp " + incoming.method }
        let tool = incoming.toolName.flatMap { MCPTools.permission(of: $0) != nil ? $0 : nil } ?? "(unknown tool)"
        return "mcp tools/call " + tool
    }

}
