import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Security

/// The HTTP+JSON binding of A2A 1.0 under `/rest`: the same methods as the JSON-RPC binding,
/// addressed by path (`POST /rest/message:send`, `GET /rest/tasks/{id}`, …), answered with
/// the bare result and HTTP status codes, errors as `{"error": {code, status, message, details}}`.
struct A2ARESTBinding: Sendable {
    static let prefix = "/rest"
    let methods: [String: JSONRPCMethod]
    let maximumBodyBytes: Int
    let logger: Logger
    let rateLimiter: PrincipalRateLimiter?

    init(methods: [JSONRPCMethod], maximumBodyBytes: Int, rateLimiter: PrincipalRateLimiter?, logger: Logger) {
        self.rateLimiter = rateLimiter
        self.methods = Dictionary(methods.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.maximumBodyBytes = maximumBodyBytes
        self.logger = logger
    }

    func register(on router: Router<AresRequestContext>) {
        let prefix = Self.prefix
        router.post("\(prefix)/message:send") { request, context in await call("SendMessage", request, context, params: .body) }
        router.post("\(prefix)/message:stream") { request, context in await call("SendStreamingMessage", request, context, params: .body) }
        router.get("\(prefix)/tasks") { request, context in await call("ListTasks", request, context, params: .query([:])) }
        // `{id}` and `{id}:cancel` share one route: the suffix decides.
        router.get("\(prefix)/tasks/{id}") { request, context in
            let id = context.parameters.get("id") ?? ""
            if id.hasSuffix(":subscribe") {
                return await call("SubscribeToTask", request, context, params: .query(["id": .string(String(id.dropLast(":subscribe".count)))]))
            }
            return await call("GetTask", request, context, params: .query(["id": .string(id)]))
        }
        router.post("\(prefix)/tasks/{id}") { request, context in
            let id = context.parameters.get("id") ?? ""
            if id.hasSuffix(":cancel") {
                return await call("CancelTask", request, context, params: .bodyWith(["id": .string(String(id.dropLast(":cancel".count)))]))
            }
            if id.hasSuffix(":subscribe") {
                return await call("SubscribeToTask", request, context, params: .query(["id": .string(String(id.dropLast(":subscribe".count)))]))
            }
            return Self.error(JSONRPCError(code: JSONRPCError.Code.methodNotFound, message: "Method not found: POST \(request.uri.path.prefix(200))"), context: context)
        }
        router.post("\(prefix)/tasks/{id}/pushNotificationConfigs") { request, context in
            await call("CreateTaskPushNotificationConfig", request, context, params: .bodyWith(["taskId": .string(context.parameters.get("id") ?? "")]))
        }
        router.get("\(prefix)/tasks/{id}/pushNotificationConfigs") { request, context in
            await call("ListTaskPushNotificationConfigs", request, context, params: .query(["taskId": .string(context.parameters.get("id") ?? "")]))
        }
        router.get("\(prefix)/tasks/{id}/pushNotificationConfigs/{pushID}") { request, context in
            await call("GetTaskPushNotificationConfig", request, context, params: .query([
                "taskId": .string(context.parameters.get("id") ?? ""), "id": .string(context.parameters.get("pushID") ?? ""),
            ]))
        }
        router.delete("\(prefix)/tasks/{id}/pushNotificationConfigs/{pushID}") { request, context in
            await call("DeleteTaskPushNotificationConfig", request, context, params: .query([
                "taskId": .string(context.parameters.get("id") ?? ""), "id": .string(context.parameters.get("pushID") ?? ""),
            ]))
        }
        router.get("\(prefix)/extendedAgentCard") { request, context in await call("GetExtendedAgentCard", request, context, params: .query([:])) }
    }

    /// Where a method's params come from: the JSON body, the body plus path fields, or the
    /// path and query string.
    enum ParamsSource {
        case body
        case bodyWith([String: JSONValue])
        case query([String: JSONValue])
    }

    private func call(_ name: String, _ request: Request, _ context: AresRequestContext, params source: ParamsSource) async -> Response {
        context.record.operation = name
        guard let method = methods[name] else { return Self.error(.methodNotFound(name, known: []), context: context) }
        var request = request
        do {
            // Who calls was settled from the headers by the authentication middleware; a
            // refused caller's body is never read.
            let principal = try JSONRPCEndpoint.authorize(method, authentication: context.authentication, rateLimiter: rateLimiter)
            let params = try await Self.params(source, request: &request, maximumBodyBytes: maximumBodyBytes)
            let call = JSONRPCRequest(id: .integer(1), method: name, params: params, principal: principal,
                                      protocolVersion: request.headers[.a2aVersion])
            switch try await method.handler(call) {
            case let .result(result):
                return .json(result)
            case let .stream(results):
                return .eventStream { writer in
                    do {
                        let stopped = try await ShutdownAwareStreaming.forEach(results) { result in
                            try await writer.write(ServerSentEvent.frame(result))
                        }
                        if stopped { try await writer.write(ServerSentEvent.frame(Self.payload(.serverStopping).body, event: "error")) }
                    } catch {
                        try await writer.write(ServerSentEvent.frame(Self.payload(.unexpected(error, logger: logger)).body, event: "error"))
                    }
                }
            }
        } catch {
            return Self.error(.unexpected(error, logger: logger), context: context)
        }
    }

    /// The method's params JSON: the body as sent, or built from the path and query (merged
    /// into the body's object where a path names the task).
    private static func params(_ source: ParamsSource, request: inout Request, maximumBodyBytes: Int) async throws -> Data {
        switch source {
        case let .query(fixed):
            var object = fixed
            for (key, value) in request.uri.queryParameters {
                let name = String(key)
                guard object[name] == nil else { continue }
                let text = String(value)
                if let number = Int64(text) {
                    object[name] = .integer(number)
                } else if text == "true" || text == "false" {
                    object[name] = .bool(text == "true")
                } else {
                    object[name] = .string(text)
                }
            }
            return try JSONRPCResponseWriter.encode(JSONValue.object(object))
        case .body, .bodyWith:
            if let contentType = request.headers[.contentType], !Routes.isJSON(contentType) {
                throw A2AError.contentTypeNotSupported("the request body must be application/json (got '\(contentType.prefix(100))')")
            }
            let data = try await request.collectBody(limit: maximumBodyBytes)
            if !data.isEmpty {
                guard try JSONRPCEndpoint.checkedTopLevel(data, maximumDepth: 32) == .object else {
                    throw JSONRPCError.invalidRequest("the body must be a JSON object")
                }
            }
            guard case let .bodyWith(fixed) = source else { return data.isEmpty ? Data("{}".utf8) : data }
            var object: [String: JSONValue] = [:]
            if !data.isEmpty {
                guard let decoded = try? JSONDecoder().decode(JSONValue.self, from: data), let decodedObject = decoded.objectValue else {
                    throw JSONRPCError.parseError("the body is not valid JSON")
                }
                object = decodedObject
            }
            object.merge(fixed) { _, path in path }
            return try JSONRPCResponseWriter.encode(JSONValue.object(object))
        }
    }

    /// A JSON-RPC error as an HTTP status and an AIP-193 error body.
    static func payload(_ error: JSONRPCError) -> (status: HTTPResponse.Status, body: Data) {
        typealias Code = JSONRPCError.Code
        let (code, status): (Int, String)
        switch error.code {
        case Code.taskNotFound, Code.methodNotFound: (code, status) = (404, "NOT_FOUND")
        case Code.contentTypeNotSupported: (code, status) = (415, "INVALID_ARGUMENT")
        case Code.taskNotCancelable, Code.pushNotificationNotSupported, Code.unsupportedOperation, Code.extendedAgentCardNotConfigured,
             Code.extensionSupportRequired, Code.versionNotSupported:
            (code, status) = (400, "FAILED_PRECONDITION")
        case Code.unauthenticated: (code, status) = (401, "UNAUTHENTICATED")
        case Code.forbidden: (code, status) = (403, "PERMISSION_DENIED")
        case Code.busy: (code, status) = (503, "UNAVAILABLE")
        case Code.quotaExceeded, Code.rateLimited: (code, status) = (429, "RESOURCE_EXHAUSTED")
        case Code.internalError, Code.invalidAgentResponse: (code, status) = (500, "INTERNAL")
        default: (code, status) = (error.httpStatus == 413 ? 413 : 400, "INVALID_ARGUMENT")
        }
        var object: [String: JSONValue] = ["code": .integer(Int64(code)), "status": .string(status), "message": .string(error.message)]
        if let data = error.data, case .array = data { object["details"] = data }
        let body = (try? JSONRPCResponseWriter.encode(JSONValue.object(["error": .object(object)]))) ?? Data()
        return (HTTPResponse.Status(code: code), body)
    }

    private static func error(_ error: JSONRPCError, context: AresRequestContext) -> Response {
        let (status, body) = payload(error)
        var retryAfter: Int?
        if let retry = error.data?.objectValue?["retryAfterSeconds"], case let .integer(seconds) = retry { retryAfter = Int(seconds) }
        return .json(body, status: status, retryAfterSeconds: retryAfter)
    }
}
