/// A JSON-RPC 2.0 error object, and the HTTP status it travels with (200 for ordinary
/// protocol errors; 401/403/413/503 where HTTP has a word for the failure).
public struct JSONRPCError: Error, Sendable, Equatable, Encodable {
    public var code: Int
    public var message: String
    public var data: JSONValue?
    public var httpStatus: Int

    public init(code: Int, message: String, data: JSONValue? = nil, httpStatus: Int = 200) {
        self.code = code
        self.message = message
        self.data = data
        self.httpStatus = httpStatus
    }

    enum CodingKeys: String, CodingKey { case code, message, data }

    public static func parseError(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: -32700, message: "Parse error: the body is not valid JSON (\(detail))")
    }

    public static func invalidRequest(_ detail: String, httpStatus: Int = 200) -> JSONRPCError {
        JSONRPCError(code: -32600, message: "Invalid Request: \(detail)", httpStatus: httpStatus)
    }

    public static func methodNotFound(_ method: String, known: [String]) -> JSONRPCError {
        JSONRPCError(code: -32601, message: "Method not found: '\(method)' is not a method of this endpoint (methods: \(known.joined(separator: ", ")))")
    }

    public static func invalidParams(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: -32602, message: "Invalid params: \(detail)")
    }

    public static func internalError(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: -32603, message: "Internal error: \(detail)")
    }

    /// No or a wrong credential (HTTP 401).
    public static func unauthenticated(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: -32040, message: "Unauthenticated: \(detail)", httpStatus: 401)
    }

    /// A known principal whose role does not allow the method (HTTP 403).
    public static func forbidden(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: -32041, message: "Forbidden: \(detail)", httpStatus: 403)
    }

    /// Admission control: every task slot and queue place is taken (HTTP 503 + Retry-After).
    public static func busy(retryAfterSeconds: Int, detail: String) -> JSONRPCError {
        JSONRPCError(code: -32050, message: "Server busy: \(detail); retry in \(retryAfterSeconds) s",
                     data: .object(["retryAfterSeconds": .integer(Int64(retryAfterSeconds))]), httpStatus: 503)
    }

    /// Ends a stream when the server shuts down before the task does: the task itself is kept
    /// and resumes at the next start (or on another replica).
    public static let serverStopping = busy(
        retryAfterSeconds: 5, detail: "the server is shutting down; the task is kept and continues when the server is back: follow it again with SubscribeToTask")

    /// The caller's own quota of waiting or running tasks is used up; others are still served
    /// (HTTP 429 + Retry-After).
    public static func quotaExceeded(retryAfterSeconds: Int, detail: String) -> JSONRPCError {
        JSONRPCError(code: -32051, message: "Quota exceeded: \(detail); retry in \(retryAfterSeconds) s",
                     data: .object(["retryAfterSeconds": .integer(Int64(retryAfterSeconds))]), httpStatus: 429)
    }
}
