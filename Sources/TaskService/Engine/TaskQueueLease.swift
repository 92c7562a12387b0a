/// A claim written with a task's queue row when it is submitted (`TaskQueueingEventStore`):
/// who holds it and for how long, as a shared queue's `claim` would lease it.
public struct TaskQueueLease: Sendable, Equatable {
    /// The replica that runs the task (`PostgresTaskQueue.replicaID`).
    public var holder: String
    /// How long the lease lasts unless renewed, in milliseconds.
    public var milliseconds: Int64

    public init(holder: String, milliseconds: Int64) {
        self.holder = holder
        self.milliseconds = milliseconds
    }
}
