/// What happened in one phase of the plan.
public struct PhaseResult: Sendable, Codable {
    public enum Status: String, Sendable, Codable {
        case ran
        /// The phase could not run against this target (its reason says what it needs).
        case notRun = "not run"
    }

    /// One step of a stress phase.
    public struct StressStep: Sendable, Codable {
        public var rate: Double
        public var measurement: LoadMeasurement
        /// The thresholds the step broke (empty: it held).
        public var failures: [String]
        public var passed: Bool { failures.isEmpty }
    }

    /// A stress phase's recovery: load lowered to `rate` after the failing step, observed in
    /// one-second windows until one meets the thresholds.
    public struct Recovery: Sendable, Codable {
        public var rate: Double
        /// From the end of the failing step to the end of the first healthy window; nil if none
        /// was healthy within `observedSeconds`.
        public var seconds: Double?
        public var observedSeconds: Double
        public var windows: [LoadMeasurement.Window]
    }

    public var name: String
    public var kind: PhaseKind
    public var status: Status
    public var reason: String?
    /// Seconds from the start of the run.
    public var startSeconds: Double
    public var endSeconds: Double
    /// The phase's duration after `--scale` (per step for stress).
    public var scaledDurationSeconds: Double?
    public var thresholds: PhaseThresholds
    public var mustPass: Bool
    /// Load and soak phases.
    public var measurement: LoadMeasurement?
    public var steps: [StressStep]?
    /// The highest stress step that held, and the first that failed.
    public var highestPassingRate: Double?
    public var breakingRate: Double?
    public var recovery: Recovery?
    /// Chaos, failover and restore: what was done to the deployment, part by part, with the
    /// load meanwhile and the checks the reliability gate reads.
    public var actions: [DeploymentActionResult]?
}
