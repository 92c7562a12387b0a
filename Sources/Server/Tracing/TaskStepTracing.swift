import Foundation
import ServiceContextModule
import Synchronization
import Tracing

/// Turns the recorded steps of research tasks into spans: one trace per task (its id derived
/// from the task id), a span per step covering the time since the previous step, and a root
/// span `ares.task` when the task ends.
public final class TaskStepTracing: Sendable {
    private let starts = Mutex<[String: UInt64]>([:])

    public init() {}

    public func record(_ update: TaskUpdate) {
        let tracer = InstrumentationSystem.tracer
        let now = DefaultTracerClock.now.nanosecondsSinceEpoch
        // The step time comes from stored timestamps: clamp it to [0, now] before converting.
        let stepNanoseconds = update.stepSeconds.isFinite ? min(Double(now), max(0, update.stepSeconds) * 1e9) : 0
        let stepStart = now - min(now, UInt64(stepNanoseconds))
        let id = update.snapshot.id
        let taskStart = starts.withLock { starts -> UInt64 in
            if let start = starts[id] { return start }
            starts[id] = stepStart
            return stepStart
        }
        var taskContext = ServiceContext.topLevel
        taskContext[TraceIdentityKey.self] = TraceIdentity.task(id)
        let span = tracer.startSpan("ares.step \(update.event.typeName)", context: taskContext, ofKind: .internal,
                                    at: DefaultTracerClock.Instant(nanosecondsSinceEpoch: stepStart))
        span.attributes["ares.task_id"] = id
        span.attributes["ares.step"] = update.event.typeName
        span.attributes["ares.task_version"] = Int64(update.snapshot.version)
        span.end(at: DefaultTracerClock.Instant(nanosecondsSinceEpoch: now))
        guard update.snapshot.state.isTerminal else { return }
        starts.withLock { _ = $0.removeValue(forKey: id) }
        // The root span carries the task's own identity, so the step spans above are its children.
        var rootContext = ServiceContext.topLevel
        rootContext[RootSpanIdentityKey.self] = TraceIdentity.task(id)
        let root = tracer.startSpan("ares.task", context: rootContext, ofKind: .internal,
                                    at: DefaultTracerClock.Instant(nanosecondsSinceEpoch: taskStart))
        root.attributes["ares.task_id"] = id
        root.attributes["ares.task_state"] = update.snapshot.state.phase?.rawValue ?? "unknown"
        root.end(at: DefaultTracerClock.Instant(nanosecondsSinceEpoch: now))
    }
}
