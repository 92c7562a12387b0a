import Foundation

/// Everything a validation run measured and decided: `report.json` is this, encoded; the
/// Markdown and HTML reports are drawn from it.
public struct ValidationReport: Sendable, Codable {
    public enum Decision: String, Sendable, Codable {
        case go = "GO"
        case noGo = "NO-GO"
    }

    public var formatVersion = 1
    public var startedAt: Date
    public var finishedAt: Date
    public var decision: Decision
    public var plan: ValidationPlan
    /// The factor every duration was multiplied by (`--scale`); 1 is the plan as written.
    public var scale: Double
    public var environment: RunEnvironment
    public var gates: [GateVerdict]
    public var phases: [PhaseResult]
    public var probes: [ProbeReport]
    public var taskLoss: TaskLossCheck.Result?
    public var serverMetrics: [ServerMetricsSample]
    public var failedMetricScrapes: Int
    /// Whatever kept a part of the run from happening (a probe that could not start, ...).
    public var notes: [String]

    public var failedGates: [GateVerdict] { gates.filter { !$0.passed } }
}
