/// What a phase of the plan does.
public enum PhaseKind: String, Sendable, Codable, CaseIterable {
    /// A constant arrival rate for a duration; the performance gate reads it.
    case load
    /// Arrival rate raised step by step until a step fails its thresholds, then lowered to
    /// the recovery rate; measures the breaking point and the time to recover.
    case stress
    /// A long constant rate: errors and memory over time.
    case soak
    /// Replicas killed at random, latency added to the model endpoints, the data filesystem filled.
    case chaos
    /// The database primary fails over under load.
    case failover
    /// A backup is taken under load and restored (RTO, RPO).
    case restore

    /// Phases the load generator runs by itself against any target.
    public var isLoad: Bool { self == .load || self == .stress || self == .soak }
}
