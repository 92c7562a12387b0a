import ServiceLifecycle

/// Runs the OTLP exporter for the life of the server and sends what is left at shutdown.
public struct OTLPExporterService: Service {
    public let exporter: OTLPExporter

    public init(exporter: OTLPExporter) {
        self.exporter = exporter
    }

    public func run() async throws {
        let exporting = Task { await exporter.run() }
        try? await gracefulShutdown()
        exporting.cancel()
        exporter.flushSoon()
        await exporting.value
        await exporter.exportPending()
    }
}
