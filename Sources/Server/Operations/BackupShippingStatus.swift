import Foundation
import Prometheus
import Synchronization

/// How continuous backup shipping (`ares serve --backup-to`) is doing, for `/health/ready` and
/// `/metrics`. The shipping service reports each round; the lag is computed when it is read,
/// so a round that hangs (a stuck network file system) shows as a growing lag, not as the last
/// value written.
public final class BackupShippingStatus: Sendable {
    /// Shipping that has failed, or fallen behind, for longer than this makes the server not ready.
    public let failureLimit: Duration

    private struct State {
        var started: Date
        /// The start of the last round that shipped everything it found: every change committed
        /// before it is in the backup.
        var caughtUpAt: Date?
        var lastSuccess: Date?
        var failingSince: Date?
        var lastError: String?
        var generation: Int?
        /// Commits the backup may not hold yet (for bounded RPO, `BackupAcknowledgementGate`).
        var backlog = UnshippedBacklog()
    }

    /// What an append may do now (`BackupAcknowledgementGate`).
    public enum AcknowledgementDecision: Sendable, Equatable {
        case admit
        case wait
        /// Refused (retryable), with the reason in words.
        case refuse(String)
    }

    private let state: Mutex<State>
    private let registry: PrometheusCollectorRegistry
    private let acknowledgementWait: DurationHistogram
    private let acknowledgementsRefused: Counter

    private static var lag: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", subsystem: "backup", metricName: "shipping_lag", unitName: "seconds",
                             helpText: "Seconds since the last moment everything committed was shipped to the backup directory")
    }

    private static var lastSuccess: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", subsystem: "backup", metricName: "last_success_timestamp", unitName: "seconds",
                             helpText: "When a shipping round last succeeded (Unix time)")
    }

    private static var failures: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", subsystem: "backup", metricName: "shipping_failures", unitName: "total",
                             helpText: "Shipping rounds that failed")
    }

    private static var segments: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", subsystem: "backup", metricName: "shipped_segments", unitName: "total",
                             helpText: "Segment files written to the backup directory")
    }

    private static var events: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", subsystem: "backup", metricName: "shipped_events", unitName: "total",
                             helpText: "Events shipped to the backup directory")
    }

    private static var bases: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", subsystem: "backup", metricName: "bases", unitName: "total",
                             helpText: "Base snapshots made (at start, and when segments outgrow the base)")
    }

    private static var unshippedAge: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", subsystem: "backup", metricName: "unshipped_age", unitName: "seconds",
                             helpText: "Age of the oldest committed write not yet known to be in the backup (0: it holds everything); bounded by --backup-max-lag")
    }

    private static var acknowledgementWaitDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", subsystem: "backup", metricName: "acknowledgement_wait", unitName: "seconds",
                             helpText: "How long task-store appends waited for backup shipping to catch up before being written (bounded RPO)")
    }

    private static var refusedDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", subsystem: "backup", metricName: "acknowledgements_refused", unitName: "total",
                             helpText: "Appends refused (retryable) because shipping was behind or failing for longer than the failure limit")
    }

    /// Up to the failure limit's order of magnitude: a wait never outlasts it.
    private static let waitBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]

    public init(failureLimit: Duration, registry: PrometheusCollectorRegistry, now: Date = Date()) {
        self.failureLimit = failureLimit
        self.registry = registry
        state = Mutex(State(started: now))
        acknowledgementWait = registry.makeDurationHistogram(descriptor: Self.acknowledgementWaitDescriptor, buckets: Self.waitBuckets)
        acknowledgementsRefused = registry.makeCounter(descriptor: Self.refusedDescriptor)
        acknowledgementsRefused.increment(by: Int64(0))
        registry.makeGauge(descriptor: Self.unshippedAge).set(to: 0)
        // Present from the first scrape, so that an alert on them never reads "no data".
        registry.makeCounter(descriptor: Self.failures).increment(by: Int64(0))
        registry.makeGauge(descriptor: Self.lag).set(to: 0)
    }

    /// A round that succeeded (`caughtUp`: it shipped everything committed before `startedAt`); returns whether it ends a
    /// run of failures (worth a log line).
    @discardableResult
    public func recordSuccess(startedAt: Date, caughtUp: Bool = true, segments: Int, events: Int, newGeneration: Int?, now: Date = Date()) -> Bool {
        let recovered = state.withLock { state in
            let wasFailing = state.failingSince != nil
            if caughtUp { state.caughtUpAt = startedAt }
            state.backlog.roundFinished(caughtUp: caughtUp)
            state.lastSuccess = now
            state.failingSince = nil
            state.lastError = nil
            if let newGeneration { state.generation = newGeneration }
            return wasFailing
        }
        registry.makeGauge(descriptor: Self.lastSuccess).set(to: now.timeIntervalSince1970)
        if segments > 0 { registry.makeCounter(descriptor: Self.segments).increment(by: Int64(segments)) }
        if events > 0 { registry.makeCounter(descriptor: Self.events).increment(by: Int64(events)) }
        if newGeneration != nil { registry.makeCounter(descriptor: Self.bases).increment() }
        return recovered
    }

    /// A round that failed; returns whether this starts a run of failures (worth a log line).
    @discardableResult
    public func recordFailure(_ reason: String, now: Date = Date()) -> Bool {
        registry.makeCounter(descriptor: Self.failures).increment()
        return state.withLock { state in
            state.backlog.roundFinished(caughtUp: false)
            state.lastError = reason
            guard state.failingSince == nil else { return false }
            state.failingSince = now
            return true
        }
    }

    /// A shipping round begins reading now: commits recorded before are in what it reads.
    public func roundStarting(now: Date = Date()) {
        state.withLock { $0.backlog.roundStarting(now: now) }
    }

    /// A task-store append was just written (the store calls it through the gate).
    public func recordCommit(now: Date = Date()) {
        state.withLock { $0.backlog.recordCommit(now: now) }
    }

    /// Seconds since the oldest commit the backup may not hold (0: it holds every commit).
    public func unshippedAgeSeconds(now: Date = Date()) -> Double {
        state.withLock { $0.backlog.age(now: now) }
    }

    /// Whether an append may be written now: at once while the backlog is younger than
    /// `maximumLag`; refused while shipping is not ready (behind or failing past the failure
    /// limit); otherwise it waits.
    public func acknowledgementDecision(maximumLag: Duration, now: Date = Date()) -> AcknowledgementDecision {
        let limit = Double(maximumLag.components.seconds) + Double(maximumLag.components.attoseconds) / 1e18
        if unshippedAgeSeconds(now: now) <= limit { return .admit }
        let readiness = readiness(now: now)
        guard readiness.ready else {
            return .refuse("continuous backup shipping is \(readiness.detail); writes wait for it at most the failure limit (\(failureLimit.components.seconds) s), so that the backup never falls further behind than --backup-max-lag")
        }
        return .wait
    }

    func recordAcknowledgementWait(_ waited: Duration) {
        acknowledgementWait.record(waited)
    }

    func recordAcknowledgementRefused() {
        acknowledgementsRefused.increment()
    }

    /// Seconds since everything committed was last known to be shipped.
    public func lagSeconds(now: Date = Date()) -> Double {
        state.withLock { state in max(0, now.timeIntervalSince(state.caughtUpAt ?? state.started)) }
    }

    /// Whether the server should take traffic as far as shipping goes, and why, in a line.
    public func readiness(now: Date = Date()) -> (ready: Bool, detail: String) {
        let limit = Double(failureLimit.components.seconds)
        return state.withLock { state in
            let lag = max(0, now.timeIntervalSince(state.caughtUpAt ?? state.started))
            if let since = state.failingSince {
                let failing = now.timeIntervalSince(since)
                let reason = "failing for \(Int(failing)) s: \(state.lastError ?? "unknown error")"
                return (failing <= limit, (failing <= limit ? "retrying, " : "") + reason)
            }
            if lag > limit {
                return (false, String(format: "%.1f s behind (limit %d s): shipping is stuck or cannot keep up", lag, Int(limit)))
            }
            let generation = state.generation.map { "generation \($0), " } ?? "making the first base, "
            return (true, "ok: " + generation + String(format: "%.2f s behind", lag))
        }
    }

    /// Sets the gauges read at scrape time.
    public func updateGauges(now: Date = Date()) {
        registry.makeGauge(descriptor: Self.lag).set(to: lagSeconds(now: now))
        registry.makeGauge(descriptor: Self.unshippedAge).set(to: unshippedAgeSeconds(now: now))
    }
}
