import Foundation

/// An audit event as the trail keeps it: its position in the chain (from 1), when it was
/// committed, and its hash (what `ares audit verify` reports as the head).
public struct AuditRecord: Sendable, Equatable {
    public var position: Int64
    public var recordedAt: Date
    public var hash: String
    public var event: AuditEvent
}
