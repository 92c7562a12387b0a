import Foundation
import Logging
import OTel
import ServiceLifecycle

/// Distributed tracing through swift-otel: its tracer, bootstrapped as the process's
/// `InstrumentationSystem` tracer, and its OTLP/HTTP exporter (protobuf encoding, as every
/// collector accepts) posting batches to `<endpoint>/v1/traces`.
///
/// - Context: W3C Trace Context. A request's `traceparent` (trace id, parent span id, trace
///   flags) and `tracestate` are continued by its span and sent on with it.
/// - Sampling: parent-based. A span whose parent is known follows its parent's sampled flag;
///   a new trace is sampled when its trace id falls in `samplingRatio` (trace-id ratio), so
///   every span of a trace is kept or dropped together. A task's trace (its id derived from
///   the task id) is judged by the same rule (`TaskTraceContext`).
/// - Export: spans are batched about once a second, at most 512 a request; at most 4096 wait,
///   and beyond that (a collector that is down or slow) new spans are dropped, never buffered
///   without bound. At shutdown what is queued is sent, within the export timeout.
///
/// Settings swift-otel reads from the environment apply where ares has no setting of its own:
/// `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_*` and the OTLP exporter's
/// headers, timeout, compression and TLS files (`OTEL_EXPORTER_OTLP_[TRACES_]…`). The
/// endpoint, protocol, sampler and propagators are ares's: the endpoint comes from
/// `--otlp-endpoint` / `OTEL_EXPORTER_OTLP_ENDPOINT`, the ratio from the caller or else
/// `OTEL_TRACES_SAMPLER_ARG`.
public struct OTLPTracing: Sendable {
    /// Where spans are posted.
    public let tracesURL: URL
    /// The share (0...1) of new traces that are sampled.
    public let samplingRatio: Double
    /// Spans for the recorded steps of tasks, sampled like every other trace.
    public let stepTracing: TaskStepTracing
    /// The services that export spans and end the spans of tasks still open at shutdown. Run
    /// them before (so that they stop after) the task runner: `ServiceGroup` stops services in
    /// reverse order, so the runner's last steps are recorded and exported.
    public let services: [any Service]

    public struct ConfigurationError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Bootstraps the process's tracer (once per process, like every swift-log/metrics/tracing
    /// bootstrap) and returns the services that export its spans.
    public static func bootstrap(
        endpoint: URL, serviceVersion: String, samplingRatio: Double? = nil, trustedCAFile: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger
    ) throws -> OTLPTracing {
        guard ["http", "https"].contains(endpoint.scheme?.lowercased() ?? ""), endpoint.host != nil else {
            throw ConfigurationError(description: "the OTLP endpoint must be an http(s) URL such as http://127.0.0.1:4318 (got '\(endpoint.absoluteString)')")
        }
        let ratio: Double
        if let samplingRatio {
            ratio = samplingRatio
        } else if let text = environment["OTEL_TRACES_SAMPLER_ARG"], !text.isEmpty {
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)) else {
                throw ConfigurationError(description: "OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1 (got '\(text)')")
            }
            ratio = value
        } else {
            ratio = 1
        }
        guard ratio.isFinite, (0...1).contains(ratio),
              let sampler = OTel.Configuration.TracesConfiguration.SamplerConfiguration.parentBasedTraceIDRatio(ratio: ratio) else {
            throw ConfigurationError(description: "the trace sampling ratio must be between 0 and 1 (got \(ratio))")
        }
        let tracesURL = Self.tracesURL(for: endpoint)

        var configuration = OTel.Configuration.default
        configuration.serviceName = "ares"
        configuration.resourceAttributes = ["service.version": serviceVersion]
        configuration.diagnosticLogger = .custom(Self.diagnosticLogger())
        configuration.diagnosticLogLevel = .warning
        configuration.propagators = [.traceContext]
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.sampler = sampler
        configuration.traces.exporter = .otlp
        configuration.traces.batchSpanProcessor.scheduleDelay = .seconds(1)
        configuration.traces.batchSpanProcessor.maxQueueSize = 4096
        configuration.traces.batchSpanProcessor.maxExportBatchSize = 512
        configuration.traces.batchSpanProcessor.exportTimeout = .seconds(10)
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.traces.otlpExporter.timeout = .seconds(5)
        // Set explicitly, an endpoint is used as given: it is already the traces URL.
        configuration.traces.otlpExporter.endpoint = tracesURL.absoluteString
        // `--ca-file`: the collector's certificate is verified against it (swift-otel trusts
        // that file in place of the system's CAs for this exporter).
        if let trustedCAFile { configuration.traces.otlpExporter.certificateFilePath = trustedCAFile }

        let exporting = try OTel.bootstrap(configuration: configuration, environment: Self.passedEnvironment(environment))
        let stepTracing = TaskStepTracing(samplingRatio: ratio)
        return OTLPTracing(tracesURL: tracesURL, samplingRatio: ratio, stepTracing: stepTracing,
                           services: [exporting, TaskSpanCloser(stepTracing: stepTracing)])
    }

    /// `<endpoint>/v1/traces`, unless the endpoint already names that path.
    public static func tracesURL(for endpoint: URL) -> URL {
        endpoint.path.hasSuffix("/v1/traces") ? endpoint : endpoint.appendingPathComponent("v1/traces")
    }

    /// Adds `traceId`, `spanId` and `traceFlags` to every log line written while a span is
    /// active (nothing otherwise, and nothing while no tracer is bootstrapped). For
    /// `LoggingSystem.bootstrap(_:metadataProvider:)`.
    public static let logMetadataProvider: Logger.MetadataProvider = {
        var keys = OTel.Configuration.LoggingMetadataProviderConfiguration.default
        keys.traceIDKey = "traceId"
        keys.spanIDKey = "spanId"
        keys.traceFlagsKey = "traceFlags"
        return OTel.makeLoggingMetadataProvider(configuration: keys)
    }()

    /// The environment swift-otel may read: the settings ares has none of its own for.
    static func passedEnvironment(_ environment: [String: String]) -> [String: String] {
        let exporterSettings = ["HEADERS", "TIMEOUT", "COMPRESSION", "CERTIFICATE", "CLIENT_KEY", "CLIENT_CERTIFICATE"]
        let allowed = Set(["OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_LOG_LEVEL",
                           "OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"]
            + exporterSettings.flatMap { ["OTEL_EXPORTER_OTLP_\($0)", "OTEL_EXPORTER_OTLP_TRACES_\($0)"] })
        return environment.filter { allowed.contains($0.key) }
    }

    /// swift-otel's own warnings (a failed export, a malformed `traceparent`) as ares log
    /// lines, without the request headers it attaches to a failed extraction: they hold
    /// credentials.
    private static func diagnosticLogger() -> Logger {
        let base = Logger(label: "ares.tracing").handler
        return Logger(label: "ares.tracing", factory: { _ in RedactingLogHandler(base: base, removing: ["carrier"]) })
    }
}

/// Ends the root spans of tasks still running when the server stops (their steps' spans
/// would otherwise point at a span never exported).
struct TaskSpanCloser: Service {
    let stepTracing: TaskStepTracing

    func run() async throws {
        try? await gracefulShutdown()
        stepTracing.endOpenTaskSpans()
    }
}

/// Passes log events on without the metadata keys named.
struct RedactingLogHandler: LogHandler {
    var base: any LogHandler
    let removing: Set<String>

    init(base: any LogHandler, removing: Set<String>) {
        self.base = base
        self.removing = removing
    }

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue.filter { !removing.contains($0.key) } }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { if !removing.contains(key) { base[metadataKey: key] = newValue } }
    }

    func log(event: LogEvent) {
        var event = event
        event.metadata = event.metadata?.filter { !removing.contains($0.key) }
        base.log(event: event)
    }
}
