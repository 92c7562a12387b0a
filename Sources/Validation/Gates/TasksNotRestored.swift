/// The acknowledged tasks a backup-restore part destroyed on purpose and was allowed to lose:
/// each acknowledged by the process that was SIGKILLed, answered "not found" by the restored
/// deployment, and acknowledged no more than the phase's RPO before the kill (continuous
/// shipping may lose what was acknowledged in that window; the part's own RPO check gates it).
///
/// The run-wide "acknowledged tasks lost" check leaves out exactly these ids, and the report
/// lists them by id, so the one loss the plan causes is not counted twice and nothing else is
/// excused: a task lost further back than the RPO is not here, so it fails both checks.
public struct TasksNotRestored: Sendable, Codable, Equatable {
    /// The tasks' ids, oldest acknowledgement first.
    public var taskIDs: [String]
    /// The recovery point objective they were within (seconds before the kill).
    public var rpoSeconds: Double

    public init(taskIDs: [String], rpoSeconds: Double) {
        self.taskIDs = taskIDs
        self.rpoSeconds = rpoSeconds
    }
}
