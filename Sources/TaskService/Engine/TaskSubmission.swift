/// What an idempotent submission (`TaskRunner.submitOnce`) did: the task, and whether this
/// call created it or found it created by an earlier call with the same id (a retried
/// message, here or on another replica). The caller decides whether the earlier call asked
/// for the same thing.
public struct TaskSubmission: Sendable {
    public var snapshot: TaskSnapshot
    public var created: Bool

    public init(snapshot: TaskSnapshot, created: Bool) {
        self.snapshot = snapshot
        self.created = created
    }
}
