import Foundation
import Prometheus

/// The server's Prometheus metrics: requests by method and outcome, latency histograms,
/// tasks by state, queue depth and agent step durations. One registry per server (no global
/// bootstrap), so that several servers in one test process keep their numbers apart.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    public init() {}

    /// One answered request: `method` is the JSON-RPC method or the route.
    public func recordRequest(method: String, outcome: String, seconds: Double) {
        registry.makeCounter(name: "ares_requests_total", labels: [("method", method), ("outcome", outcome)],
                             help: "Requests by method and outcome").increment()
        registry.makeDurationHistogram(name: "ares_request_duration_seconds", labels: [("method", method)],
                                       buckets: Self.latencyBuckets, help: "Request latency by method")
            .recordNanoseconds(Int64(seconds * 1e9))
    }

    /// One recorded agent step, with the time since the task's previous step.
    public func recordStep(_ step: String, seconds: Double) {
        registry.makeDurationHistogram(name: "ares_agent_step_duration_seconds", labels: [("step", step)],
                                       buckets: Self.latencyBuckets, help: "Time to produce each recorded workflow step")
            .recordNanoseconds(Int64(seconds * 1e9))
    }

    public func recordTaskEnded(state: String) {
        registry.makeCounter(name: "ares_tasks_ended_total", labels: [("state", state)], help: "Tasks that ended, by final state").increment()
    }

    public func recordAuthenticationFailure() {
        registry.makeCounter(name: "ares_authentication_failures_total", help: "Requests refused for a missing or wrong credential").increment()
    }

    /// Sets the gauges read at scrape time, then renders the exposition text.
    public func exposition(queued: Int, running: Int) -> [UInt8] {
        registry.makeGauge(name: "ares_tasks", labels: [("state", "queued")], help: "Live tasks by state").set(to: Double(queued))
        registry.makeGauge(name: "ares_tasks", labels: [("state", "running")], help: "Live tasks by state").set(to: Double(running))
        registry.makeGauge(name: "ares_task_queue_depth", help: "Tasks admitted and waiting for a worker").set(to: Double(queued))
        return registry.emitToBuffer()
    }
}
