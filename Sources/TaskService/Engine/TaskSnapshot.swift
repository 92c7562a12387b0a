import Foundation
import ResearchCore
import Storage

/// A task as the engine shows it: its folded state, how many events it has, when it last
/// changed, and whether it is still waiting for a worker.
public struct TaskSnapshot: Sendable {
    public var id: String
    public var state: TaskState
    public var version: Int64
    public var updatedAt: Date
    /// Admitted but not started: every worker is busy.
    public var isQueued: Bool

    public init(id: String, state: TaskState, version: Int64, updatedAt: Date, isQueued: Bool = false) {
        self.id = id
        self.state = state
        self.version = version
        self.updatedAt = updatedAt
        self.isQueued = isQueued
    }
}

/// One recorded step of a live task, as subscribers (SSE streams, webhooks) receive it: the
/// event as the store recorded it (its version and time are the snapshot's), and the state
/// after it.
public struct TaskUpdate: Sendable {
    public var snapshot: TaskSnapshot
    public var event: TaskEvent
    public var stored: StoredEvent
    /// Seconds since the task's previous recorded step: how long this step took.
    public var stepSeconds: Double
}
