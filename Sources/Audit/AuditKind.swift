/// What a security event was. The raw value is the event's type in the audit stream and what
/// `ares audit list --kind` takes.
public enum AuditKind: String, Sendable, Codable, CaseIterable {
    /// A request whose credential was refused, or that needed one and had none.
    case authenticationFailed = "auth.failed"
    /// A known principal asked for something its role does not allow.
    case accessDenied = "access.denied"
    case keyCreated = "key.created"
    case keyRevoked = "key.revoked"
    /// An admin added documents to the knowledge base (with `prune`: also forgot missing ones).
    case ingest = "admin.ingest"
    /// An admin removed documents from the knowledge base.
    case remove = "admin.remove"
    /// An admin canceled a task another principal owns.
    case cancelOthersTask = "admin.cancel"
    /// Any other call of a method that needs the admin role (the method is in the details).
    case adminAction = "admin.action"
    /// The server started, with its effective (redacted) configuration.
    case serverStarted = "server.started"
    /// Events the trail could not keep (a flood beyond its queue), counted per kind.
    case recordsDropped = "audit.dropped"
}

/// How the audited action ended.
public enum AuditOutcome: String, Sendable, Codable, CaseIterable {
    case succeeded, failed
    /// Refused before anything was done (authentication failures and denials).
    case refused
}
