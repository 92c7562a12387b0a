import ArgumentParser
import AresComposition
import Foundation
import Hummingbird
import Knowledge
import Logging
import Instrumentation
import Server
import ServiceLifecycle
import TaskService

/// `ares serve`: the A2A (JSON-RPC 2.0) and MCP server. Deny by default: it refuses to start
/// without an API key, unless `--dev` on a loopback address.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve ares over HTTP(S): A2A 1.0 JSON-RPC at /a2a, MCP at /mcp, the web console at /, the agent card, health and metrics.",
        discussion: """
            Clients authenticate with an API key (`ares keys create --role researcher`), sent as
            'Authorization: Bearer <key>' or 'X-API-Key: <key>'; with --oidc-issuer, also with the
            provider's access tokens ('Authorization: Bearer <JWT>'); with --tls-client-ca, also with a
            client certificate mapped to a role (--tls-client-role-map). Each principal's request rate is
            limited (--rate-limits). Security events go to the audit trail (`ares audit list`). SIGTERM
            stops accepting, lets running tasks reach a recorded step and exits; unfinished tasks resume
            at the next start.

            With --standby, a second `ares serve` on the same --data-dir and --port waits for the data
            directory (its lock, which the kernel frees when the serving process dies, even by SIGKILL or
            the OOM killer) and then starts in its place: it opens the stores, resumes the tasks the dead
            process held and binds the port. One host only; for the loss of the machine, use --backup-to
            and `ares restore` (docs/operations.md#standby).
            """
    )

    @OptionGroup var server: ServerOptions
    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var embedding: EmbedderOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var relevance: RelevanceOptions
    @OptionGroup var database: DatabaseConnectionOptions
    @OptionGroup var replica: ReplicaOptions
    @Flag(help: "Wait for the data directory held by another ares serve (binding nothing) and take over when it dies; standbys queue, one takes over.")
    var standby = false

    func run() async throws {
        try await Console.reportingErrors {
            let configuration = try AresConfiguration.load(server, data, embedding, model, database, replica, relevance)
            try configuration.refuseEmbeddedOnlySettingsWithDatabase()
            let settings = configuration.server
            LoggingSystem.bootstrap({ label, provider in JSONLogHandler(label: label, level: settings.logLevel, metadataProvider: provider) },
                                    metadataProvider: OTLPTracing.logMetadataProvider)
            let logger = Logger(label: "ares")
            // --standby: wait (binding nothing) until the process serving this data directory is gone.
            var standbyTakeover: StandbyTakeover?
            if standby {
                guard configuration.database == nil else {
                    throw ValidationError("--standby waits for a data directory's lock; replicas on --database share the work queue and take over each other's tasks without one: drop --standby")
                }
                let takeover = StandbyTakeover(directory: configuration.dataDirectory)
                guard try await takeover.wait(logger: logger, say: { Console.note($0) }) == .dataDirectoryFree else {
                    Console.note("standby: stopped while waiting; nothing was opened")
                    return
                }
                Console.note("standby: the data directory is free; taking over")
                standbyTakeover = takeover
            }
            var services: [any Service] = []
            var stepTracing: TaskStepTracing?
            if let endpoint = settings.otlpEndpoint {
                let tracing = try OTLPTracing.bootstrap(endpoint: endpoint, serviceVersion: AresVersion.current,
                                                        samplingRatio: settings.traceSamplingRatio,
                                                        trustedCAFile: configuration.outbound.caFile, logger: logger)
                services.append(contentsOf: tracing.services)
                stepTracing = tracing.stepTracing
                logger.info("exporting traces", metadata: ["otlp": .string(tracing.tracesURL.absoluteString),
                                                           "samplingRatio": .stringConvertible(tracing.samplingRatio)])
            }

            let environment = try await ServerEnvironment.open(
                configuration, limits: settings.taskLimits, developmentMode: settings.developmentMode,
                allowPrivateWebhooks: settings.webhooksMayReachPrivateAddresses, knowledgeAccess: .readWrite, logger: logger,
                stepTracing: stepTracing, warning: Console.warning)
            let dataDirectory = configuration.dataDirectory.path
            if settings.developmentMode {
                Console.warning("DEVELOPMENT MODE: requests without credentials act as a local admin. Never expose this server.")
            } else if environment.shared == nil, try !environment.keys.hasActiveKeys(), !configuration.tls.grantsRolesByCertificate,
                      !configuration.identity.acceptsTokens {
                throw ValidationError("""
                    no API key exists in \(dataDirectory), so no one could use this server: create one with \
                    `ares keys create --role admin`, or run `ares serve --dev` on a loopback address for local development
                    """)
            }
            // HTTPS: the TLS files are read and checked before anything runs; a bad one stops the start with one line.
            let tls = try configuration.tls.serverSettings.map { try ServingTLS(settings: $0, metrics: environment.components.metrics, logger: logger) }
            try await environment.recordStart(configuration)
            let resumed = try await environment.resumeUnfinishedTasks()
            // This process holds the data directory now: the next standby in line may wait for it.
            standbyTakeover?.releaseQueue()
            if resumed > 0 { logger.info("resuming unfinished tasks", metadata: ["count": .stringConvertible(resumed)]) }
            let serverConfiguration = configuration.serverConfiguration(version: AresVersion.current)
            // --backup-to: continuous backup shipping beside the other background services.
            var components = environment.components
            try BackupShippingService.attach(to: &components, configuration: configuration, aresVersion: AresVersion.current, logger: logger)
            // The shared database's pool first: it starts before and stops after everything that uses it.
            let app = AresServer.makeApplication(configuration: serverConfiguration, components: components,
                                                 services: environment.leadingServices + services,
                                                 tls: tls) { port in
                logger.info("listening", metadata: [
                    "address": .string("\(tls == nil ? "http" : "https")://\(serverConfiguration.host):\(port)"), "a2a": .string("/a2a"), "mcp": .string("/mcp"),
                    "dataDir": .string(dataDirectory), "dev": .stringConvertible(settings.developmentMode),
                ])
            }
            try await app.runService()
        }
    }
}
