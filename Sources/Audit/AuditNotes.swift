import Synchronization

/// What a handler tells the audit trail about the request it is serving, when only the
/// handler knows it: that an admin canceled *another* principal's task, which paths an
/// ingest read. The HTTP layer binds one per authenticated request (`AuditNotes.current`, a
/// task-local, so handlers need no audit parameter and no request context), and records it
/// once the handler has answered.
public final class AuditNotes: Sendable {
    @TaskLocal public static var current: AuditNotes?

    private struct Fields {
        var kind: AuditKind?
        var details: [String: String] = [:]
    }

    private let fields = Mutex(Fields())

    public init() {}

    /// Marks the request as an audited action of `kind` (the last call wins) with `details`.
    public func note(_ kind: AuditKind, details: [String: String] = [:]) {
        fields.withLock { fields in
            fields.kind = kind
            fields.details.merge(details) { _, new in new }
        }
    }

    /// Adds details to whatever the request is recorded as.
    public func add(_ details: [String: String]) {
        fields.withLock { $0.details.merge(details) { _, new in new } }
    }

    public var kind: AuditKind? { fields.withLock { $0.kind } }
    public var details: [String: String] { fields.withLock { $0.details } }
}
