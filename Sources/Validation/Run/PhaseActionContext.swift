import Foundation

/// What a phase that acts on the deployment gets from the run: the phase and its thresholds,
/// the scale, and the run's own load generator and task ledger, so that tasks acknowledged
/// during a fault join every other acknowledged task in the final "0 lost" check.
public struct PhaseActionContext: Sendable {
    public var phase: PlanPhase
    public var scale: Double
    public var thresholds: PhaseThresholds
    public var ledger: TaskLedger
    public var http: LoadHTTPClient
    public var target: ValidationTarget
    public var progress: @Sendable (String) -> Void
    let generate: @Sendable (_ rate: Double, _ seconds: Double) async -> LoadMeasurement
    let lookUp: @Sendable (_ entries: [TaskLedger.Entry], _ deadline: Duration) async -> TaskLossCheck.Result

    public init(phase: PlanPhase, scale: Double, thresholds: PhaseThresholds, ledger: TaskLedger, http: LoadHTTPClient, target: ValidationTarget,
                progress: @escaping @Sendable (String) -> Void,
                generate: @escaping @Sendable (_ rate: Double, _ seconds: Double) async -> LoadMeasurement,
                lookUp: @escaping @Sendable (_ entries: [TaskLedger.Entry], _ deadline: Duration) async -> TaskLossCheck.Result) {
        self.phase = phase
        self.scale = scale
        self.thresholds = thresholds
        self.ledger = ledger
        self.http = http
        self.target = target
        self.progress = progress
        self.generate = generate
        self.lookUp = lookUp
    }

    /// Seconds after `--scale`, never below the run's minimum.
    public func scaled(_ seconds: Double) -> Double {
        let value = seconds * scale
        return value.isFinite ? min(max(ValidationRun.minimumScaledSeconds, value), 366 * 86400) : ValidationRun.minimumScaledSeconds
    }

    /// The plan's request mix at `rate` for `seconds`, open loop, recorded into the run's ledger.
    public func load(rate: Double, seconds: Double) async -> LoadMeasurement {
        await generate(rate, seconds)
    }

    /// Reads `entries` back by their owners until each has ended, is missing, or the deadline
    /// passes; a sample has its hash chain verified (the same check as the run's final one).
    public func checkTasks(_ entries: [TaskLedger.Entry], deadline: Duration) async -> TaskLossCheck.Result {
        await lookUp(entries, deadline)
    }

    /// Whether `path` on the target answers 200 now (health probes need no credential).
    public func answers200(_ path: String) async -> Bool {
        let answer = await http.get(target.url(path))
        return answer.failure == nil && answer.status == 200
    }
}
