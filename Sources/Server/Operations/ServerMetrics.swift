import Foundation
import Prometheus
import Synchronization

/// The server's Prometheus metrics: requests by method and outcome, latency histograms,
/// tasks by state, queue depth and agent step durations. One registry per server (no global
/// bootstrap), so that several servers in one test process keep their numbers apart.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    private struct Series {
        var counters: [String: Counter] = [:]
        var histograms: [String: DurationHistogram] = [:]
    }

    private let series = Mutex(Series())
    /// The CPU time already added to `process_cpu_seconds_total`: the counter only grows, so
    /// each scrape adds the difference to what /proc reports now (see `ServerMetrics+Process`).
    let reportedCPUSeconds = Mutex<Double>(0)
    private static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    // Descriptors are not Sendable, so they are made on use (a few strings).
    private static var requests: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", metricName: "requests", unitName: "total",
                             helpText: "Requests by method and outcome")
    }

    private static var requestDuration: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", metricName: "request_duration", unitName: "seconds",
                             helpText: "Request latency by method")
    }

    private static var stepDuration: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", metricName: "agent_step_duration", unitName: "seconds",
                             helpText: "Time to produce each recorded workflow step")
    }

    private static var tasksEnded: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", metricName: "tasks_ended", unitName: "total",
                             helpText: "Tasks that ended, by final state")
    }

    private static var authenticationFailures: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", metricName: "authentication_failures", unitName: "total",
                             helpText: "Requests refused for a missing or wrong credential")
    }

    private static var tasks: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", metricName: "tasks", unitName: "", helpText: "Live tasks by state")
    }

    private static var queueDepth: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", metricName: "task_queue_depth", unitName: "",
                             helpText: "Tasks admitted and waiting for a worker")
    }

    public init() {}

    /// One answered request: `method` is the JSON-RPC method or the route.
    public func recordRequest(method: String, outcome: String, seconds: Double) {
        // The per-request path looks its series up in a local table: the registry's own lookup
        // builds the metric name and label list on every call.
        let key = method + "\u{1}" + outcome
        let (counter, histogram) = series.withLock { series -> (Counter, DurationHistogram) in
            if let counter = series.counters[key], let histogram = series.histograms[method] { return (counter, histogram) }
            let counter = registry.makeCounter(descriptor: Self.requests, labels: [("method", method), ("outcome", outcome)])
            let histogram = registry.makeDurationHistogram(descriptor: Self.requestDuration, labels: [("method", method)], buckets: Self.latencyBuckets)
            series.counters[key] = counter
            series.histograms[method] = histogram
            return (counter, histogram)
        }
        counter.increment()
        histogram.recordNanoseconds(Self.nanoseconds(seconds))
    }

    /// One recorded agent step, with the time since the task's previous step.
    public func recordStep(_ step: String, seconds: Double) {
        registry.makeDurationHistogram(descriptor: Self.stepDuration, labels: [("step", step)], buckets: Self.latencyBuckets)
            .recordNanoseconds(Self.nanoseconds(seconds))
    }

    /// A duration for a histogram. Step times come from timestamps read back from the event
    /// store, which may be anything: negative, NaN or centuries count as 0 or are capped, never
    /// converted out of range.
    static func nanoseconds(_ seconds: Double) -> Int64 {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        return Int64(min(seconds, 1e9) * 1e9)
    }

    public func recordTaskEnded(state: String) {
        registry.makeCounter(descriptor: Self.tasksEnded, labels: [("state", state)]).increment()
    }

    public func recordAuthenticationFailure() {
        registry.makeCounter(descriptor: Self.authenticationFailures).increment()
    }

    private static var queueCapacity: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", metricName: "task_queue_capacity", unitName: "",
                             helpText: "Tasks that may wait for a worker (--max-queued-tasks); beyond it submissions are refused")
    }

    private static var workers: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", metricName: "task_workers", unitName: "",
                             helpText: "Tasks that may run at once (--max-running-tasks)")
    }

    /// Sets the gauges read at scrape time, then renders the exposition text. The limits are
    /// exported beside the counts so that saturation (depth / capacity) can be alerted on
    /// without copying the configuration into the alert rules.
    public func exposition(queued: Int, running: Int, maximumQueued: Int? = nil, maximumRunning: Int? = nil) -> [UInt8] {
        registry.makeGauge(descriptor: Self.tasks, labels: [("state", "queued")]).set(to: Double(queued))
        registry.makeGauge(descriptor: Self.tasks, labels: [("state", "running")]).set(to: Double(running))
        registry.makeGauge(descriptor: Self.queueDepth).set(to: Double(queued))
        if let maximumQueued { registry.makeGauge(descriptor: Self.queueCapacity).set(to: Double(maximumQueued)) }
        if let maximumRunning { registry.makeGauge(descriptor: Self.workers).set(to: Double(maximumRunning)) }
        recordProcessStatistics(ProcessStatistics.current())
        return registry.emitToBuffer()
    }
}
