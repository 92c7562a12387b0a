import ArgumentParser
import Foundation
import Hummingbird
import Knowledge
import Logging
import Instrumentation
import Server
import ServiceLifecycle

/// `ares serve`: the A2A (JSON-RPC 2.0) and MCP server. Deny by default: it refuses to start
/// without an API key, unless `--dev` on a loopback address.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve ares over HTTP: A2A 1.0 JSON-RPC at /a2a, MCP at /mcp, the agent card, health and metrics.",
        discussion: """
            Clients authenticate with an API key (`ares keys create --role researcher`), sent as
            'Authorization: Bearer <key>' or 'X-API-Key: <key>'. SIGTERM stops accepting, lets running
            tasks reach a recorded step and exits; unfinished tasks resume at the next start.
            """
    )

    @Option(help: "The address to listen on (default 127.0.0.1).")
    var host: String?

    @Option(help: "The port (default 8080; 0 picks a free one).")
    var port: Int?

    @Option(help: "A JSON file with any of: host, port, publicURL, maxRunningTasks, maxQueuedTasks, maxBodyBytes, maxConnections, logRequests, logLevel, quotas ({\"researcher\": {\"maxQueued\": 100, \"maxRunning\": 2}, \"admin\": {...}}). Flags override it.")
    var config: String?

    @Flag(help: "Development mode (loopback only): requests without credentials act as a local admin.")
    var dev = false

    @Option(help: "The URL clients reach this server at, for the agent card (default http://HOST:PORT).")
    var publicURL: String?

    @Option(help: "Research tasks run at once (default 4).")
    var maxRunningTasks: Int?

    @Option(help: "Tasks admitted to wait for a worker; beyond that a submission is refused as busy (default 1000).")
    var maxQueuedTasks: Int?

    @Option(help: "The largest request body in bytes (default 1048576).")
    var maxBodyBytes: Int?

    @Option(help: "Open connections at most; beyond that new ones wait to be accepted (default 512).")
    var maxConnections: Int?

    @Option(help: "Seconds a client has to send a request's head after connecting or after the previous answer (default 30).")
    var requestHeadTimeout: Int?

    @Option(help: "Seconds a client has to send a request's body after its head (default 60).")
    var requestBodyTimeout: Int?

    @Option(help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String?

    @Flag(help: "Allow push-notification webhooks on loopback, private or link-local addresses (always allowed with --dev).")
    var allowPrivateWebhooks = false

    @Flag(help: "Do not log one line per request.")
    var noRequestLog = false

    @Option(help: "Export traces over OTLP/HTTP (JSON) to this collector, e.g. http://127.0.0.1:4318 ($OTEL_EXPORTER_OTLP_ENDPOINT). Unset: no tracing.")
    var otlpEndpoint: String?

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var embedding: EmbedderOptions
    @OptionGroup var model: ModelOptions

    /// The optional configuration file.
    struct FileSettings: Decodable {
        var host: String?
        var port: Int?
        var publicURL: String?
        var maxRunningTasks: Int?
        var maxQueuedTasks: Int?
        var maxBodyBytes: Int?
        var logRequests: Bool?
        var logLevel: String?
        var maxConnections: Int?
        var requestHeadTimeout: Int?
        var requestBodyTimeout: Int?
        var quotas: Quotas?

        /// Per-principal task limits by role; an absent value keeps the default.
        struct Quotas: Decodable {
            struct Limits: Decodable {
                var maxQueued: Int?
                var maxRunning: Int?
            }
            var researcher: Limits?
            var admin: Limits?
        }

        func principalQuotas() throws -> PrincipalTaskQuotas {
            var quotas = PrincipalTaskQuotas()
            func apply(_ limits: Quotas.Limits?, to quota: inout PrincipalTaskQuotas.Quota, role: String) throws {
                guard let limits else { return }
                if let queued = limits.maxQueued {
                    guard (0...10_000_000).contains(queued) else { throw ValidationError("quotas.\(role).maxQueued must be between 0 and 10000000 (got \(queued))") }
                    quota.maximumQueued = queued
                }
                if let running = limits.maxRunning {
                    guard (1...256).contains(running) else { throw ValidationError("quotas.\(role).maxRunning must be between 1 and 256 (got \(running))") }
                    quota.maximumRunning = running
                }
            }
            try apply(self.quotas?.researcher, to: &quotas.researcher, role: "researcher")
            try apply(self.quotas?.admin, to: &quotas.admin, role: "admin")
            return quotas
        }
    }

    func run() async throws {
        try await Console.reportingErrors {
            let file = try readSettings()
            let level = logLevel ?? file.logLevel ?? "info"
            guard let loggerLevel = Logger.Level(rawValue: level) else {
                throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical (got '\(level)')")
            }
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: loggerLevel) }
            let logger = Logger(label: "ares")
            var services: [any Service] = []
            var stepTracing: TaskStepTracing?
            if let endpointText = otlpEndpoint ?? ProcessInfo.processInfo.environment["OTEL_EXPORTER_OTLP_ENDPOINT"], !endpointText.isEmpty {
                guard let endpoint = URL(string: endpointText), ["http", "https"].contains(endpoint.scheme ?? "") else {
                    throw ValidationError("--otlp-endpoint must be an http(s) URL such as http://127.0.0.1:4318 (got '\(endpointText)')")
                }
                let exporter = OTLPExporter(endpoint: endpoint, serviceVersion: AresVersion.current)
                InstrumentationSystem.bootstrap(OTLPTracer(exporter: exporter))
                services.append(OTLPExporterService(exporter: exporter))
                stepTracing = TaskStepTracing()
                logger.info("exporting traces", metadata: ["otlp": .string(exporter.tracesURL.absoluteString)])
            }

            let limits = TaskRunner.Limits(maximumRunning: maxRunningTasks ?? file.maxRunningTasks ?? 4,
                                           maximumQueued: maxQueuedTasks ?? file.maxQueuedTasks ?? 1000,
                                           principalQuotas: try file.principalQuotas())
            let configuration = ServerConfiguration(
                host: host ?? file.host ?? "127.0.0.1", port: port ?? file.port ?? 8080, publicBaseURL: publicURL ?? file.publicURL,
                developmentMode: dev, maximumBodyBytes: maxBodyBytes ?? file.maxBodyBytes ?? 1 << 20, tasks: limits,
                logRequests: !noRequestLog && (file.logRequests ?? true), version: AresVersion.current,
                maximumConnections: maxConnections ?? file.maxConnections ?? 512,
                requestHeadTimeout: .seconds(requestHeadTimeout ?? file.requestHeadTimeout ?? 30),
                requestBodyTimeout: .seconds(requestBodyTimeout ?? file.requestBodyTimeout ?? 60))
            try validate(configuration)

            let environment = try await ServerEnvironment.open(
                data: data, embedding: embedding, model: model, limits: limits, developmentMode: dev,
                knowledgeAccess: .readWrite, logger: logger, stepTracing: stepTracing, allowPrivateWebhooks: allowPrivateWebhooks || dev)
            if dev {
                Console.warning("DEVELOPMENT MODE: requests without credentials act as a local admin. Never expose this server.")
            } else if try !environment.keys.hasActiveKeys() {
                throw ValidationError("""
                    no API key exists in \(data.url.path), so no one could use this server: create one with \
                    `ares keys create --role admin`, or run `ares serve --dev` on a loopback address for local development
                    """)
            }
            let resumed = try await environment.resumeUnfinishedTasks()
            if resumed > 0 { logger.info("resuming unfinished tasks", metadata: ["count": .stringConvertible(resumed)]) }
            let app = AresServer.makeApplication(configuration: configuration, components: environment.components, services: services) { port in
                logger.info("listening", metadata: [
                    "address": .string("http://\(configuration.host):\(port)"), "a2a": .string("/a2a"), "mcp": .string("/mcp"),
                    "dataDir": .string(data.url.path), "dev": .stringConvertible(dev),
                ])
            }
            try await app.runService()
        }
    }

    private func readSettings() throws -> FileSettings {
        guard let config else { return FileSettings() }
        let contents: Data
        do {
            contents = try Data(contentsOf: URL(fileURLWithPath: config))
        } catch {
            throw ValidationError("cannot read the config file '\(config)': \(error.localizedDescription)")
        }
        do {
            return try JSONDecoder().decode(FileSettings.self, from: contents)
        } catch {
            throw ValidationError("the config file '\(config)' is not valid: \(error)")
        }
    }

    private func validate(_ configuration: ServerConfiguration) throws {
        guard (0...65535).contains(configuration.port) else { throw ValidationError("the port must be between 0 and 65535 (got \(configuration.port))") }
        if configuration.developmentMode, !ServerConfiguration.isLoopback(configuration.host) {
            throw ValidationError("--dev lets anyone act as admin, so it is refused on \(configuration.host): use a loopback address (127.0.0.1)")
        }
        guard (1...256).contains(configuration.tasks.maximumRunning) else { throw ValidationError("--max-running-tasks must be between 1 and 256") }
        guard (0...10_000_000).contains(configuration.tasks.maximumQueued) else { throw ValidationError("--max-queued-tasks must be between 0 and 10000000") }
        guard (1024...(64 << 20)).contains(configuration.maximumBodyBytes) else { throw ValidationError("--max-body-bytes must be between 1024 and 67108864") }
        guard (1...100_000).contains(configuration.maximumConnections) else { throw ValidationError("--max-connections must be between 1 and 100000") }
        guard (1...3600).contains(configuration.requestHeadTimeout.components.seconds) else { throw ValidationError("--request-head-timeout must be between 1 and 3600 seconds") }
        guard (1...3600).contains(configuration.requestBodyTimeout.components.seconds) else { throw ValidationError("--request-body-timeout must be between 1 and 3600 seconds") }
    }
}
