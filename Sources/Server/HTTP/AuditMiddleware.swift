import Audit
import HTTPTypes
import Hummingbird
import Logging
import Security

/// Records the security events of every route in the audit trail, from what the request
/// pipeline already decided. Runs inside the authentication middlewares, so the context holds
/// who is calling, and around the handler, so the record holds the method and the answer.
///
/// - A credential that was refused, or none where one was needed (the answer was 401): an
///   authentication failure with the reason, source address and path. Queued, never waited
///   for (a flood of bad keys must not slow the server down; see `AuditTrail`).
/// - A 403 to a known principal: an authorization denial with the method and the permission
///   it needs. Queued likewise.
/// - A call of a method that needs the admin role, or one a handler marked (`AuditNotes`, for
///   a cancel of another principal's task): an admin action, written durably *before* the
///   response goes out, so an acknowledged admin action is on disk.
///
/// Never records a credential: reasons come from the authenticators, which word them without
/// the presented value, and bodies are not read here.
struct AuditMiddleware: RouterMiddleware {
    typealias Context = AresRequestContext
    let audit: AuditTrail
    /// The permission each JSON-RPC method needs, by name (what the record's operation holds).
    let permissions: [String: Permission]
    let logger: Logger

    /// The audit kind of admin methods that have one of their own (`ares/removeDocuments`:
    /// the name a server-side remove is to take; none exists yet).
    private static let adminKinds: [String: AuditKind] = [
        "ares/ingest": .ingest, "ares/uploadDocuments": .ingest, "ares/removeDocuments": .remove,
        "ares/createKey": .keyCreated, "ares/revokeKey": .keyRevoked,
    ]

    /// Admin methods that only read (listing keys): not actions, and a console may poll them.
    private static let readOnlyAdminMethods: Set<String> = ["ares/listKeys"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let principal = context.principal else {
            return try await refusalsOnly(request, context: context, next: next)
        }
        let notes = AuditNotes()
        let response: Response
        do {
            response = try await AuditNotes.$current.withValue(notes) { try await next(request, context) }
        } catch let error as HTTPResponseError {
            await record(request, context: context, principal: principal, notes: notes, status: error.status)
            throw error
        }
        await record(request, context: context, principal: principal, notes: notes, status: response.status)
        return response
    }

    /// Requests without a principal: only their refusal can be a security event.
    private func refusalsOnly(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPResponseError {
            recordAuthenticationFailure(request, context: context, status: error.status)
            throw error
        }
        recordAuthenticationFailure(request, context: context, status: response.status)
        return response
    }

    private func recordAuthenticationFailure(_ request: Request, context: Context, status: HTTPResponse.Status) {
        let reason: String
        switch context.authentication {
        case let .rejected(refused): reason = refused
        case .missing where status == .unauthorized: reason = "no credentials"
        default: return
        }
        audit.record(AuditEvent(kind: .authenticationFailed, outcome: .refused, source: context.remoteAddress?.ipAddress,
                                details: ["reason": reason, "path": String(request.uri.path.prefix(200)), "status": String(status.code)]))
    }

    private func record(_ request: Request, context: Context, principal: Principal, notes: AuditNotes, status: HTTPResponse.Status) async {
        let path = String(request.uri.path.prefix(200))
        let source = context.remoteAddress?.ipAddress
        let operation = context.record.operation ?? "\(request.method.rawValue) \(path)"
        let permission = permission(of: operation)
        if status == .forbidden {
            var details = ["method": operation, "role": principal.role.rawValue, "path": path]
            if let permission { details["permission"] = permission.rawValue }
            audit.record(AuditEvent(kind: .accessDenied, outcome: .refused, principal: principal.id, source: source, details: details))
            return
        }
        let isAdminMethod = (permission.map { $0.minimumRole == .admin } ?? false) && !Self.readOnlyAdminMethods.contains(operation)
        guard let kind = notes.kind ?? (isAdminMethod ? Self.adminKinds[operation] ?? .adminAction : nil) else { return }
        var details = notes.details
        details["method"] = operation
        details["role"] = principal.role.rawValue
        let outcome = context.record.outcome
        let succeeded = (200..<300).contains(status.code) && (outcome == nil || outcome == "ok" || outcome == "stream")
        if !succeeded { details["result"] = outcome ?? String(status.code) }
        do {
            try await audit.recordDurably(AuditEvent(kind: kind, outcome: succeeded ? .succeeded : .failed, principal: principal.id,
                                                     source: source, details: details))
        } catch {
            // The action is done; the operator must learn that its record is missing.
            logger.error("an admin action could not be recorded in the audit trail", metadata: [
                "kind": .string(kind.rawValue), "principal": .string(principal.id), "error": .string(String(describing: error)),
            ])
        }
    }

    /// A JSON-RPC method's permission, or an MCP tool's (`mcp tools/call NAME`).
    private func permission(of operation: String) -> Permission? {
        if let permission = permissions[operation] { return permission }
        let toolPrefix = "mcp tools/call "
        guard operation.hasPrefix(toolPrefix) else { return nil }
        return MCPTools.permission(of: String(operation.dropFirst(toolPrefix.count)))
    }
}
