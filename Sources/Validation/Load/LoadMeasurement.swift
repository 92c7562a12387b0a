/// What one open-loop run measured: what was asked, what was sent, how each request ended, and
/// latency from each request's due time (so a stalled server shows in the percentiles instead of
/// slowing the generator down: no coordinated omission).
public struct LoadMeasurement: Sendable, Codable {
    /// One slice of the run (by due time): what it asked, how its requests ended, its latencies.
    public struct Window: Sendable, Codable {
        /// Seconds from the run's start to the window's start.
        public var startSeconds: Double
        public var seconds: Double
        public var outcomes: [String: UInt64]
        /// Latencies of the window's successful requests.
        public var latency: LatencySummary

        public var requests: UInt64 { outcomes.values.reduce(0, +) }
        public var ok: UInt64 { outcomes[RequestOutcome.ok.rawValue] ?? 0 }
        public var failed: UInt64 { requests - ok }
    }

    /// The arrival rate asked for (requests per second).
    public var askedRate: Double
    public var durationSeconds: Double
    /// Requests due in the run (rate × duration).
    public var scheduled: UInt64
    public var outcomes: [String: UInt64]
    /// Latency (from the due time) of the successful requests.
    public var latency: LatencySummary
    /// The same, per request kind of the mix.
    public var latencyByKind: [String: LatencySummary]
    public var outcomesByKind: [String: [String: UInt64]]
    /// How late the generator sent requests behind their due time (its own scheduling lag and
    /// waits for a free slot), in milliseconds: large values mean the generator, not the
    /// target, was the bottleneck.
    public var sendLag: LatencySummary
    /// Seconds from the first due time to the last answer.
    public var elapsedSeconds: Double
    public var windows: [Window]
    /// HdrHistogram's percentile distribution of the successful requests' latency (ms), the
    /// text wrk2 and HdrHistogram's tools print.
    public var percentileDistribution: String

    public func count(_ outcome: RequestOutcome) -> UInt64 { outcomes[outcome.rawValue] ?? 0 }
    public var ok: UInt64 { count(.ok) }
    public var total: UInt64 { outcomes.values.reduce(0, +) }
    public var failed: UInt64 { total - ok }
    /// Successful answers per second, over the asked duration or, when the answers took longer
    /// to arrive, until the last answer: a server that answers everything but needs twice the
    /// time has sustained half the rate.
    public var achievedRate: Double {
        let seconds = max(durationSeconds, elapsedSeconds)
        return seconds > 0 ? Double(ok) / seconds : 0
    }
    /// Requests that ended in anything but success, over all that were due.
    public var errorRate: Double { total > 0 ? Double(failed) / Double(total) : 0 }
}
