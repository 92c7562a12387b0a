/// The limits a phase is judged by. Every field is optional so that a phase can override only
/// some of the plan's; `merged(over:)` fills the rest, and `resolved` the built-in defaults.
public struct PhaseThresholds: Sendable, Codable, Equatable {
    /// The 95th percentile of successful requests' latency (from the due time) must stay below this.
    public var p95Milliseconds: Double?
    /// Successful answers per second over the asked rate must reach this ratio (sustained throughput).
    public var minimumThroughputRatio: Double?
    /// Requests that ended in anything but success (including unsent ones), over all that were due.
    public var maximumErrorRate: Double?
    /// Successful requests over all requests of the load and soak phases (the reliability gate).
    public var availability: Double?
    /// The performance gate: the highest passing load level must reach this rate.
    public var minimumSustainedRate: Double?
    /// Stress: after the load drops, the time until requests meet the thresholds again.
    public var recoverySeconds: Double?
    /// Failover: time until writes succeed again.
    public var failoverSeconds: Double?
    /// Restore: recovery time and recovery point objectives.
    public var rtoSeconds: Double?
    public var rpoSeconds: Double?

    public init(p95Milliseconds: Double? = nil, minimumThroughputRatio: Double? = nil, maximumErrorRate: Double? = nil,
                availability: Double? = nil, minimumSustainedRate: Double? = nil, recoverySeconds: Double? = nil,
                failoverSeconds: Double? = nil, rtoSeconds: Double? = nil, rpoSeconds: Double? = nil) {
        self.p95Milliseconds = p95Milliseconds
        self.minimumThroughputRatio = minimumThroughputRatio
        self.maximumErrorRate = maximumErrorRate
        self.availability = availability
        self.minimumSustainedRate = minimumSustainedRate
        self.recoverySeconds = recoverySeconds
        self.failoverSeconds = failoverSeconds
        self.rtoSeconds = rtoSeconds
        self.rpoSeconds = rpoSeconds
    }

    /// The review's numbers: p95 under 2 s, 95 % of the asked rate sustained, at most 0.5 %
    /// errors, 99.5 % availability, at least 100 RPS sustained, recovery within 5 minutes,
    /// failover within 30 s, RTO 15 minutes, RPO 5 minutes.
    public static let defaults = PhaseThresholds(p95Milliseconds: 2000, minimumThroughputRatio: 0.95, maximumErrorRate: 0.005,
                                                 availability: 0.995, minimumSustainedRate: 100, recoverySeconds: 300,
                                                 failoverSeconds: 30, rtoSeconds: 900, rpoSeconds: 300)

    /// These values where set, else `base`'s.
    public func merged(over base: PhaseThresholds) -> PhaseThresholds {
        PhaseThresholds(p95Milliseconds: p95Milliseconds ?? base.p95Milliseconds,
                        minimumThroughputRatio: minimumThroughputRatio ?? base.minimumThroughputRatio,
                        maximumErrorRate: maximumErrorRate ?? base.maximumErrorRate,
                        availability: availability ?? base.availability,
                        minimumSustainedRate: minimumSustainedRate ?? base.minimumSustainedRate,
                        recoverySeconds: recoverySeconds ?? base.recoverySeconds,
                        failoverSeconds: failoverSeconds ?? base.failoverSeconds,
                        rtoSeconds: rtoSeconds ?? base.rtoSeconds, rpoSeconds: rpoSeconds ?? base.rpoSeconds)
    }

    func validate(_ context: String) throws {
        func positive(_ value: Double?, _ name: String) throws {
            if let value, !(value.isFinite && value > 0) { throw PlanError("\(context).\(name): must be a number above 0 (got \(value))") }
        }
        func ratio(_ value: Double?, _ name: String) throws {
            if let value, !(value.isFinite && value >= 0 && value <= 1) { throw PlanError("\(context).\(name): must be between 0 and 1 (got \(value))") }
        }
        try positive(p95Milliseconds, "p95Milliseconds")
        try ratio(minimumThroughputRatio, "minimumThroughputRatio")
        try ratio(maximumErrorRate, "maximumErrorRate")
        try ratio(availability, "availability")
        try positive(minimumSustainedRate, "minimumSustainedRate")
        try positive(recoverySeconds, "recoverySeconds")
        try positive(failoverSeconds, "failoverSeconds")
        try positive(rtoSeconds, "rtoSeconds")
        try positive(rpoSeconds, "rpoSeconds")
    }

    static let keys: Set<String> = ["p95Milliseconds", "minimumThroughputRatio", "maximumErrorRate", "availability", "minimumSustainedRate",
                                    "recoverySeconds", "failoverSeconds", "rtoSeconds", "rpoSeconds"]
}
