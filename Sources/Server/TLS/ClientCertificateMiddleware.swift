import Hummingbird
import Security

/// Puts the verified client certificate of the request's connection into the request context,
/// and makes it the request's principal when the request brought no other credential: runs
/// right after `AuthenticationMiddleware`, so a bearer key or token always decides first, and a
/// refused one stays refused. On a `--dev` server a mapped certificate replaces the local
/// admin, which only stands in for "no credentials".
struct ClientCertificateMiddleware: RouterMiddleware {
    typealias Context = AresRequestContext
    let registry: ClientCertificateRegistry

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let certificate = registry.certificate(on: context.connection) else { return try await next(request, context) }
        var context = context
        context.clientCertificateIdentity = certificate.identity
        if let principal = certificate.principal {
            switch context.authentication {
            case .missing:
                context.authentication = .principal(principal)
                context.record.principal = principal.id
            case let .principal(current) where current == .localDevelopmentAdmin:
                context.authentication = .principal(principal)
                context.record.principal = principal.id
            case .principal, .rejected, .unavailable:
                break
            }
        }
        return try await next(request, context)
    }
}
