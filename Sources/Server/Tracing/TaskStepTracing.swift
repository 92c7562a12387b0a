import Crypto
import Foundation
import Instrumentation
import ServiceContextModule
import Synchronization
import TaskService
import Tracing

/// Turns the recorded steps of research tasks into spans, through the bootstrapped tracer:
/// one trace per task, its id derived from the task id (so the steps of a task, across
/// restarts, land in one trace); a root span `ares.task` from the first step this process
/// sees until the task ends; and, as its children, a span per step covering the time since
/// the previous step.
///
/// The trace id of a task is chosen before any of its spans exists, which the tracer accepts
/// only as a parent's: the root span continues the task's W3C trace context, a parent span id
/// derived from the task id as well (`TaskTraceContext`), which no span carries.
public final class TaskStepTracing: Sendable {
    private let samplingRatio: Double
    /// The root span of each task with a step seen and no end yet.
    private let roots = Mutex<[String: any Span]>([:])

    public init(samplingRatio: Double = 1) {
        self.samplingRatio = samplingRatio
    }

    public func record(_ update: TaskUpdate) {
        let tracer = InstrumentationSystem.tracer
        let now = DefaultTracerClock.now.nanosecondsSinceEpoch
        // The step time comes from stored timestamps: clamp it to [0, now] before converting.
        let stepNanoseconds = update.stepSeconds.isFinite ? min(Double(now), max(0, update.stepSeconds) * 1e9) : 0
        let stepStart = now - min(now, UInt64(stepNanoseconds))
        let id = update.snapshot.id
        let root = roots.withLock { roots -> any Span in
            if let root = roots[id] { return root }
            let context = TaskTraceContext(taskID: id, samplingRatio: samplingRatio).serviceContext()
            let root = tracer.startSpan("ares.task", context: context, ofKind: .internal,
                                        at: DefaultTracerClock.Instant(nanosecondsSinceEpoch: stepStart))
            root.attributes["ares.task_id"] = id
            roots[id] = root
            return root
        }
        let span = tracer.startSpan("ares.step \(update.event.typeName)", context: root.context, ofKind: .internal,
                                    at: DefaultTracerClock.Instant(nanosecondsSinceEpoch: stepStart))
        span.attributes["ares.task_id"] = id
        span.attributes["ares.step"] = update.event.typeName
        span.attributes["ares.task_version"] = Int64(update.snapshot.version)
        span.end(at: DefaultTracerClock.Instant(nanosecondsSinceEpoch: now))
        guard update.snapshot.state.isTerminal else { return }
        _ = roots.withLock { $0.removeValue(forKey: id) }
        root.attributes["ares.task_state"] = update.snapshot.state.phase?.rawValue ?? "unknown"
        root.end(at: DefaultTracerClock.Instant(nanosecondsSinceEpoch: now))
    }

    /// Ends the root spans of tasks that have not ended (the server is stopping): they are
    /// marked `ares.task_state: interrupted`; a restart continues the task in the same trace.
    public func endOpenTaskSpans() {
        let open = roots.withLock { roots in
            defer { roots.removeAll() }
            return Array(roots.values)
        }
        for root in open {
            root.attributes["ares.task_state"] = "interrupted"
            root.end()
        }
    }
}

/// The W3C trace context of a research task, derived from its id: the trace id is the first
/// 16 bytes of SHA-256(task id), the parent span id the next 8. It is sampled by the rule
/// the tracer applies to new traces (trace-id ratio), so that a task's trace is kept or
/// dropped whole, whichever process records its steps.
public struct TaskTraceContext: Sendable, Hashable {
    public let traceID: [UInt8]
    public let parentSpanID: [UInt8]
    public let isSampled: Bool

    public init(taskID: String, samplingRatio: Double = 1) {
        let digest = Array(SHA256.hash(data: Data(taskID.utf8)))
        traceID = Array(digest[0..<16])
        parentSpanID = Array(digest[16..<24])
        isSampled = Self.isSampled(traceID: traceID, ratio: samplingRatio)
    }

    public var traceIDHex: String { Self.hex(traceID) }
    public var parentSpanIDHex: String { Self.hex(parentSpanID) }
    public var traceparent: String { "00-\(traceIDHex)-\(parentSpanIDHex)-\(isSampled ? "01" : "00")" }

    /// A context whose remote parent is this one, as the tracer extracts it from `traceparent`.
    public func serviceContext() -> ServiceContext {
        var context = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(["traceparent": traceparent], into: &context, using: DictionaryExtractor())
        return context
    }

    /// The trace-id ratio rule (OpenTelemetry's `TraceIdRatioBased`, as swift-otel computes
    /// it): the last 8 bytes of the trace id, read little-endian, below ratio × UInt64.max.
    static func isSampled(traceID: [UInt8], ratio: Double) -> Bool {
        guard ratio > 0 else { return false }
        guard ratio < 1 else { return true }
        let value = traceID[8..<16].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return value < UInt64(ratio * Double(UInt64.max))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

private struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}
