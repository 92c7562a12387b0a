/// One part of a phase that acts on the deployment (chaos, failover, restore): what was done to
/// it, the load that ran meanwhile, and the checks the reliability gate holds it to. A part
/// that could not run here says why (the Testing gate then fails for the phase).
public struct DeploymentActionResult: Sendable, Codable {
    /// A stable id, e.g. `model-latency`, `kill-restart`, `disk-80`, `backup-restore`.
    public var name: String
    /// What was done, in words, with the numbers it was done with.
    public var description: String
    public var status: PhaseResult.Status
    public var reason: String?
    /// The open-loop load that ran while the fault was in place.
    public var measurement: LoadMeasurement?
    /// The part's measurements against their thresholds (the reliability gate's evidence).
    public var checks: [GateVerdict.Measurement]
    /// Further numbers worth reading that are not gated (e.g. model calls the proxy saw).
    public var facts: [String: String]
    /// A restore part's acknowledged tasks lost within its RPO: the run-wide loss check leaves
    /// out exactly these (nil for every other part, and in reports written before it existed).
    public var tasksNotRestored: TasksNotRestored?

    public init(name: String, description: String, status: PhaseResult.Status = .ran, reason: String? = nil,
                measurement: LoadMeasurement? = nil, checks: [GateVerdict.Measurement] = [], facts: [String: String] = [:],
                tasksNotRestored: TasksNotRestored? = nil) {
        self.name = name
        self.description = description
        self.status = status
        self.reason = reason
        self.measurement = measurement
        self.checks = checks
        self.facts = facts
        self.tasksNotRestored = tasksNotRestored
    }

    /// A part that could not run, with the reason.
    public static func notRun(_ name: String, _ description: String, reason: String) -> DeploymentActionResult {
        DeploymentActionResult(name: name, description: description, status: .notRun, reason: reason)
    }

    public var passed: Bool { status == .ran && !checks.isEmpty && checks.allSatisfy(\.passed) }
}
