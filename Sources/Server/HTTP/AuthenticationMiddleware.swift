import Hummingbird
import Logging

/// Finds who is calling, once per request and from the headers alone, before any handler
/// reads a body: the principal goes into the request context for every route; a credential
/// that is refused is counted and logged here (with the reason, never the credential). Each
/// binding turns a missing or refused credential into its own error format; public routes
/// (health, the agent card) ignore it. The credential itself (API key or token) is never logged.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AresRequestContext
    let access: AccessControl
    let metrics: ServerMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.authentication = await access.authenticate(request.headers)
        switch context.authentication {
        case let .principal(principal):
            context.record.principal = principal.id
        case let .rejected(reason):
            metrics.recordAuthenticationFailure()
            logger.warning("authentication refused", metadata: ["path": .string(String(request.uri.path.prefix(100))), "reason": .string(reason)])
        case .missing, .unavailable:
            break
        }
        return try await next(request, context)
    }
}
