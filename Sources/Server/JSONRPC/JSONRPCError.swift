import Foundation
import Logging
import Storage

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

    /// The error codes ares answers with: JSON-RPC 2.0's, A2A 1.0's (with a
    /// `google.rpc.ErrorInfo` in `data`, see `A2AError`) and ares's own.
    public enum Code {
        public static let parseError = -32700
        public static let invalidRequest = -32600
        public static let methodNotFound = -32601
        public static let invalidParams = -32602
        public static let internalError = -32603
        public static let taskNotFound = -32001
        public static let taskNotCancelable = -32002
        public static let pushNotificationNotSupported = -32003
        public static let unsupportedOperation = -32004
        public static let contentTypeNotSupported = -32005
        public static let invalidAgentResponse = -32006
        public static let extendedAgentCardNotConfigured = -32007
        public static let extensionSupportRequired = -32008
        public static let versionNotSupported = -32009
        public static let unauthenticated = -32040
        public static let forbidden = -32041
        public static let busy = -32050
        public static let quotaExceeded = -32051
        public static let rateLimited = -32052
    }

    public static func parseError(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: Code.parseError, message: "Parse error: the body is not valid JSON (\(detail))")
    }

    public static func invalidRequest(_ detail: String, httpStatus: Int = 200) -> JSONRPCError {
        JSONRPCError(code: Code.invalidRequest, message: "Invalid Request: \(detail)", httpStatus: httpStatus)
    }

    public static func methodNotFound(_ method: String, known: [String]) -> JSONRPCError {
        JSONRPCError(code: Code.methodNotFound, message: "Method not found: '\(method)' is not a method of this endpoint (methods: \(known.joined(separator: ", ")))")
    }

    public static func invalidParams(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: Code.invalidParams, message: "Invalid params: \(detail)")
    }

    public static func internalError(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: Code.internalError, message: "Internal error: \(detail)")
    }

    /// An error nobody anticipated: logged with a fresh reference, and answered with that
    /// reference only (its text may hold paths, SQL or other internals).
    public static func unexpected(_ error: any Error, logger: Logger) -> JSONRPCError {
        if let known = error as? JSONRPCError { return known }
        // Anticipated after all: a full disk or read-only file system refused a write. The
        // client may retry; nothing of its request was stored (HTTP 503 + Retry-After).
        if let refused = StorageUnavailableError.classify(error) { return storageUnavailable(refused) }
        let reference = String(UUID().uuidString.prefix(8)).lowercased()
        logger.error("unexpected error", metadata: ["reference": .string(reference), "error": .string(String(describing: error))])
        return internalError("an unexpected error occurred; the server's log has it under reference \(reference)")
    }

    /// The answer to a request without valid credentials (HTTP 401).
    public static func refusing(_ authentication: RequestAuthentication) -> JSONRPCError {
        if case let .rejected(reason) = authentication { return unauthenticated(reason) }
        if case let .unavailable(reason) = authentication { return busy(retryAfterSeconds: 1, detail: reason) }
        return unauthenticated("this endpoint needs an API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    }

    /// No or a wrong credential (HTTP 401).
    public static func unauthenticated(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: Code.unauthenticated, message: "Unauthenticated: \(detail)", httpStatus: 401)
    }

    /// A known principal whose role does not allow the method (HTTP 403).
    public static func forbidden(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: Code.forbidden, message: "Forbidden: \(detail)", httpStatus: 403)
    }

    /// Admission control: every task slot and queue place is taken (HTTP 503 + Retry-After).
    public static func busy(retryAfterSeconds: Int, detail: String) -> JSONRPCError {
        JSONRPCError(code: Code.busy, message: "Server busy: \(detail); retry in \(retryAfterSeconds) s",
                     data: .object(["retryAfterSeconds": .integer(Int64(retryAfterSeconds))]), httpStatus: 503)
    }

    /// The storage takes no writes (disk full, read-only): retryable, like a busy server; reads
    /// are still served (HTTP 503 + Retry-After).
    public static func storageUnavailable(_ refused: StorageUnavailableError) -> JSONRPCError {
        busy(retryAfterSeconds: StorageUnavailableError.retryAfterSeconds, detail: refused.description)
    }

    /// Ends a stream when the server shuts down before the task does: the task itself is kept
    /// and resumes at the next start (or on another replica).
    public static let serverStopping = busy(
        retryAfterSeconds: 5, detail: "the server is shutting down; the task is kept and continues when the server is back: follow it again with SubscribeToTask")

    /// The caller's own quota of waiting or running tasks is used up; others are still served
    /// (HTTP 429 + Retry-After).
    public static func quotaExceeded(retryAfterSeconds: Int, detail: String) -> JSONRPCError {
        JSONRPCError(code: Code.quotaExceeded, message: "Quota exceeded: \(detail); retry in \(retryAfterSeconds) s",
                     data: .object(["retryAfterSeconds": .integer(Int64(retryAfterSeconds))]), httpStatus: 429)
    }

    /// The caller made more requests of this kind than its rate limit allows; others are still
    /// served (HTTP 429 + Retry-After).
    public static func rateLimited(retryAfterSeconds: Int, detail: String) -> JSONRPCError {
        JSONRPCError(code: Code.rateLimited, message: "Rate limit exceeded: \(detail); retry in \(retryAfterSeconds) s",
                     data: .object(["retryAfterSeconds": .integer(Int64(retryAfterSeconds))]), httpStatus: 429)
    }
}
