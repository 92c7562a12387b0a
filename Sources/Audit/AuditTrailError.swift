/// Why the audit trail could not be opened or read, worded for the operator.
public enum AuditTrailError: Error, CustomStringConvertible, Sendable, Equatable {
    case noAuditFile(String)
    case unreadableRecord(position: Int64, reason: String)

    public var description: String {
        switch self {
        case let .noAuditFile(path):
            "there is no audit trail at \(path) yet: `ares serve` and `ares keys create|revoke` start it"
        case let .unreadableRecord(position, reason):
            "audit record \(position) cannot be read (\(reason)): run `ares audit verify`"
        }
    }
}
