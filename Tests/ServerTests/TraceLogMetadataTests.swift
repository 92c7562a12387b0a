import Foundation
import Logging
import OTel
import Server
import Testing
import Tracing

/// Log lines name the active span; a task's trace context is derived from its id and sampled
/// by the tracer's ratio rule.
@Suite struct TraceLogMetadataTests {
    /// A tracer of its own (the process's `InstrumentationSystem` is left alone), exporting nowhere.
    static func makeTracer() throws -> some Tracer {
        var configuration = OTel.Configuration.default
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.exporter = .none
        configuration.diagnosticLogger = .custom(Logger(label: "otel", factory: { _ in SwiftLogNoOpLogHandler() }))
        return try OTel.makeTracingBackend(configuration: configuration).factory
    }

    @Test func jsonLogLinesCarryTheActiveSpansTraceAndSpanIDs() throws {
        let pipe = Pipe()
        let sink = JSONLogSink(descriptor: pipe.fileHandleForWriting.fileDescriptor)
        let logger = Logger(label: "test", factory: { label in
            JSONLogHandler(label: label, metadataProvider: OTLPTracing.logMetadataProvider, sink: sink)
        })
        let tracer = try Self.makeTracer()
        logger.info("outside")
        let traceID = tracer.withSpan("work") { span in
            logger.info("inside", metadata: ["step": "1"])
            return span.context.otelTraceID
        }
        try pipe.fileHandleForWriting.close()
        let lines = try String(decoding: pipe.fileHandleForReading.readToEnd() ?? Data(), as: UTF8.self)
            .split(separator: "\n").map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        try #require(lines.count == 2)
        #expect(lines[0]["traceId"] == nil && lines[0]["spanId"] == nil)
        #expect(lines[1]["msg"] as? String == "inside" && lines[1]["step"] as? String == "1")
        #expect(lines[1]["traceId"] as? String == traceID)
        #expect((lines[1]["traceId"] as? String)?.count == 32)
        #expect((lines[1]["spanId"] as? String)?.count == 16)
    }

    @Test func aTasksTraceContextIsDerivedFromItsIdAndSampledByRatio() {
        let context = TaskTraceContext(taskID: "task-1")
        #expect(context == TaskTraceContext(taskID: "task-1"))
        #expect(context.traceIDHex.count == 32 && context.parentSpanIDHex.count == 16)
        #expect(context.traceparent == "00-\(context.traceIDHex)-\(context.parentSpanIDHex)-01")
        #expect(!TaskTraceContext(taskID: "task-1", samplingRatio: 0).isSampled)
        #expect(TaskTraceContext(taskID: "task-1", samplingRatio: 0).traceparent.hasSuffix("-00"))
        let sampled = (0..<1000).filter { TaskTraceContext(taskID: "task-\($0)", samplingRatio: 0.25).isSampled }.count
        #expect((150...350).contains(sampled))
    }
}
