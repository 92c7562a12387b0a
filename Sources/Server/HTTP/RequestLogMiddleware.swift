import Foundation
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// One structured log line per request (request id, principal, method, status, duration)
/// and the request metrics; echoes or assigns `X-Request-Id`.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AresRequestContext
    let logger: Logger
    let metrics: ServerMetrics
    let logRequests: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let requestID = Self.requestID(from: request.headers)
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[.requestID] = requestID
        let seconds = (ContinuousClock.now - started).seconds
        let operation = context.record.operation ?? "\(request.method.rawValue) \(Self.route(request.uri.path))"
        metrics.recordRequest(method: operation, outcome: context.record.outcome ?? String(response.status.code), seconds: seconds)
        if logRequests {
            logger.info("request", metadata: [
                "requestId": .string(requestID),
                "principal": .string(context.record.principal ?? "-"),
                "method": .string(operation),
                "status": .stringConvertible(Int(response.status.code)),
                "durationMs": .stringConvertible((seconds * 1_000_000).rounded() / 1000),
            ])
        }
        return response
    }

    /// Known routes by name, anything else as one label (metrics must not grow per URL).
    private static func route(_ path: String) -> String {
        ["/a2a", "/mcp", "/metrics", "/health/live", "/health/ready", "/.well-known/agent-card.json"].contains(path) ? path : "(other)"
    }

    private static func requestID(from headers: HTTPFields) -> String {
        if let given = headers[.requestID], given.utf8.count <= 64,
           given.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            return given
        }
        return UUID().uuidString.lowercased()
    }
}
