import Foundation
import Logging
import Security

/// What the HTTP layer sends back for one JSON-RPC POST.
public enum JSONRPCHTTPReply: Sendable {
    case single(status: Int, body: Data, retryAfterSeconds: Int?)
    /// Server-sent events: each element is one complete `data:` payload (a JSON-RPC response);
    /// `closing` is the last one when the server shuts down before the stream ends.
    case events(AsyncStream<Data>, closing: Data)
    /// A notification (no id): nothing to answer.
    case accepted
}

/// Parses, checks and dispatches JSON-RPC 2.0 requests: the shape of the envelope, the
/// nesting limit, the caller's credentials and permission, then the method. Every refusal is
/// a JSON-RPC error whose message says what was wrong.
public struct JSONRPCEndpoint: Sendable {
    public var methods: [String: JSONRPCMethod]
    public var maximumNestingDepth: Int
    /// Where unexpected errors are logged (clients get a reference, not the text).
    public var logger: Logger
    /// Each principal's request rate; nil: unlimited.
    public var rateLimiter: PrincipalRateLimiter?

    /// What became of one request: the reply, and the method and outcome it is counted under
    /// (`ok`, `stream`, `notification`, `error <code>`; the method is nil when none was named).
    public struct Handled: Sendable {
        public var reply: JSONRPCHTTPReply
        public var method: String?
        public var outcome: String
    }

    public init(methods: [JSONRPCMethod], maximumNestingDepth: Int = 32, rateLimiter: PrincipalRateLimiter? = nil,
                logger: Logger = Logger(label: "ares")) {
        self.logger = logger
        self.rateLimiter = rateLimiter
        self.methods = Dictionary(methods.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.maximumNestingDepth = maximumNestingDepth
    }

    public func handle(body: Data, authentication: RequestAuthentication, protocolVersion: String?) async -> Handled {
        let envelope: JSONRPCEnvelope
        do {
            envelope = try JSONRPCEnvelope.parse(body, maximumDepth: maximumNestingDepth)
        } catch {
            return Handled(reply: Self.errorReply(error.error, id: error.id), method: nil, outcome: "error \(error.error.code)")
        }
        let id = envelope.id
        var methodName: String?
        do {
            guard let method = methods[envelope.method] else {
                // Not recorded under the client's name: metrics labels must stay a fixed set.
                methodName = "(unknown method)"
                throw JSONRPCError.methodNotFound(String(envelope.method.prefix(100)), known: methods.keys.sorted())
            }
            let name = envelope.method
            methodName = name
            let principal = try Self.authorize(method, authentication: authentication, rateLimiter: rateLimiter)
            guard !envelope.isNotification else {
                // A notification: JSON-RPC forbids a reply, and no A2A method is meant as one.
                return Handled(reply: .accepted, method: name, outcome: "notification")
            }
            let request = JSONRPCRequest(id: id, method: name, params: envelope.params, principal: principal, protocolVersion: protocolVersion)
            switch try await method.handler(request) {
            case let .result(result):
                return Handled(reply: .single(status: 200, body: JSONRPCResponseWriter.result(id: id, result: result), retryAfterSeconds: nil),
                               method: name, outcome: "ok")
            case let .stream(results):
                return Handled(reply: .events(Self.frames(of: results, id: id, logger: logger), closing: JSONRPCResponseWriter.error(id: id, error: .serverStopping)),
                               method: name, outcome: "stream")
            }
        } catch {
            let failure = JSONRPCError.unexpected(error, logger: logger)
            return Handled(reply: Self.errorReply(failure, id: id), method: methodName, outcome: "error \(failure.code)")
        }
    }

    /// The caller, if it may call `method` now; unauthenticated (401), forbidden (403) or rate
    /// limited (429) otherwise.
    public static func authorize(_ method: JSONRPCMethod, authentication: RequestAuthentication,
                                 rateLimiter: PrincipalRateLimiter?) throws -> Principal {
        let principal: Principal
        switch authentication {
        case let .principal(found): principal = found
        case .missing: throw JSONRPCError.unauthenticated("this method needs an API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
        case let .rejected(reason): throw JSONRPCError.unauthenticated(reason)
        case let .unavailable(reason): throw JSONRPCError.busy(retryAfterSeconds: 1, detail: reason)
        }
        guard principal.can(method.permission) else {
            throw JSONRPCError.forbidden("the role '\(principal.role.rawValue)' may not call \(method.name) (it needs \(method.permission.minimumRole.rawValue) or above)")
        }
        try rateLimiter?.check(principal, RequestClass(method.permission))
        return principal
    }

    static func errorReply(_ error: JSONRPCError, id: JSONValue) -> JSONRPCHTTPReply {
        let retry = error.data?.objectValue?["retryAfterSeconds"].flatMap { value -> Int? in
            if case let .integer(seconds) = value { return Int(seconds) }
            return nil
        }
        return .single(status: error.httpStatus, body: JSONRPCResponseWriter.error(id: id, error: error), retryAfterSeconds: retry)
    }

    /// Each streamed result as a JSON-RPC response; a failure ends the stream with an error
    /// response. Pulled as the consumer reads (no task of its own).
    private static func frames(of results: AsyncThrowingStream<Data, any Error>, id: JSONValue, logger: Logger) -> AsyncStream<Data> {
        let cursor = PullCursor<AsyncThrowingStream<Data, any Error>.Iterator, Data>(results.makeAsyncIterator())
        return AsyncStream(unfolding: {
            guard !cursor.finished else { return nil }
            do {
                guard let result = try await cursor.iterator?.next() else { return nil }
                return JSONRPCResponseWriter.result(id: id, result: result)
            } catch {
                cursor.finished = true
                return JSONRPCResponseWriter.error(id: id, error: .unexpected(error, logger: logger))
            }
        })
    }

    /// Checks that `body` is one strict JSON text within the nesting limit: a syntax error is
    /// -32700, too deep a nesting -32600 (shared by the A2A, REST and MCP bindings).
    static func checkedTopLevel(_ body: Data, maximumDepth: Int) throws(JSONRPCError) -> StrictJSONValidator.TopLevel {
        do {
            return try StrictJSONValidator.validate(body, maximumDepth: maximumDepth)
        } catch let failure {
            switch failure {
            case .syntax: throw JSONRPCError.parseError(failure.message)
            case .tooDeep: throw JSONRPCError.invalidRequest(failure.message)
            }
        }
    }

}
