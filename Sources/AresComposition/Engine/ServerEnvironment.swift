import Audit
import Foundation
import Identity
import Knowledge
import Logging
import PostgresStorage
import Security
import Server
import ServiceLifecycle
import TaskService

/// Wires the server's components from a configuration: the research environment, the task
/// directory and runner, push notifications, metrics and access control.
public struct ServerEnvironment {
    public let research: ResearchEnvironment
    public let components: ServerComponents
    public let keys: APIKeyAuthenticator
    /// The OIDC bearer token verifier; nil without `--oidc-issuer`.
    public let tokens: OIDCTokenVerifier?
    /// The shared database (`--database`); nil: everything in the data directory. Its start-up
    /// (waiting for the database, keys, resuming tasks) runs as a background service, so the
    /// server listens, not ready, while the database is away.
    public let shared: SharedDatabase?

    /// Services that must start before and stop after every other (the database's pool,
    /// which everything else queries through): `ares serve` puts them first.
    public var leadingServices: [any Service] { shared.map { [$0.database] } ?? [] }

    /// `ares serve` passes the configured limits; `ares mcp` the defaults, no development mode
    /// and no private webhooks. `clientsAuthenticate`: false for `ares mcp`, whose one client is
    /// the local user, so a shared database without API keys is no reason to stop.
    public static func open(_ configuration: AresConfiguration, limits: TaskRunner.Limits, developmentMode: Bool,
                            allowPrivateWebhooks: Bool, knowledgeAccess: KnowledgeBase.AccessMode, logger: Logger,
                            stepTracing: TaskStepTracing? = nil, clientsAuthenticate: Bool = true,
                            warning: (String) -> Void) async throws -> ServerEnvironment {
        // --database: the event store, the keys and the knowledge base are the shared
        // database's (the data directory keeps what is this replica's own: uploads, and the
        // audit trail of what was done through this replica).
        let shared = configuration.database.map { SharedDatabase($0, logger: logger) }
        var researchOptions = ResearchEnvironment.Options(access: knowledgeAccess)
        researchOptions.eventStore = shared?.gatedEventStore
        if let shared {
            // The knowledge base every replica shares: loaded once the database is ready (see
            // the KnowledgeChangeFollower below), refused with 503 until then.
            researchOptions.knowledgeBase = { embedder in
                ResearchEnvironment.openDeferredSharedKnowledgeBase(configuration, shared: shared, embedder: embedder, access: knowledgeAccess)
            }
        }
        let research = try await ResearchEnvironment.open(configuration, options: researchOptions, warning: warning)
        let keyStore: any APIKeyRepository
        let keys: APIKeyAuthenticator
        if let shared {
            // Deny by default: no key works until start-up has loaded them; until then a key is
            // answered 503 with Retry-After (not 401: it may be valid).
            keys = APIKeyAuthenticator.awaitingKeys()
            keyStore = ReloadingAPIKeyRepository(base: shared.keys, authenticator: keys)
        } else {
            let store = try openKeyStore(configuration)
            keyStore = store
            keys = try APIKeyAuthenticator(store: store)
        }
        let audit = try openAuditTrail(configuration, logger: logger)
        let tokens = try openTokenVerifier(configuration, logger: logger)
        // The provider's keys are loaded before the first request; if it is down, tokens are
        // refused with that reason until a later attempt succeeds (API keys keep working).
        await tokens?.loadKeys()
        let directory = TaskDirectory(service: research.service)
        let runner = TaskRunner(directory: directory, limits: limits, queue: workQueue(shared, logger: logger), logger: logger)
        let validator = PushNotificationConfigValidator(allowsPrivateAddresses: allowPrivateWebhooks)
        let pushConfigs = PushNotificationConfigStore(store: research.store, validate: validator.validate)
        let metrics = ServerMetrics()
        let webhookFiles = configuration.outbound.trustedCAFiles
        let sender = PushNotificationSender(configs: pushConfigs, policy: validator.addressPolicy,
                                            tlsConfiguration: webhookFiles.isEmpty ? nil : try webhookFiles.clientConfiguration(presentingCertificate: false),
                                            logger: logger)
        directory.addListener { update in
            sender.taskUpdated(update)
            stepTracing?.record(update)
            metrics.recordStep(update.event.typeName, seconds: update.stepSeconds)
            if update.snapshot.state.isTerminal { metrics.recordTaskEnded(state: update.snapshot.state.phase?.rawValue ?? "unknown") }
        }
        var components = ServerComponents(runner: runner, pushConfigs: pushConfigs, knowledge: research.knowledge,
                                          access: AccessControl(authenticator: keys, tokens: tokens, developmentMode: developmentMode),
                                          metrics: metrics, logger: logger,
                                          backgroundServices: [sender, audit.writer] + (tokens.map { [$0.refresher] } ?? [])
                                              + retentionServices(configuration, directory: directory, logger: logger),
                                          keyStore: keyStore,
                                          audit: audit)
        if let shared {
            let sharedKeys = shared.keys
            let refresher = PostgresAPIKeyRefresher(store: sharedKeys, authenticator: keys, logger: logger)
            let requiresKeys = clientsAuthenticate && !developmentMode && !configuration.tls.grantsRolesByCertificate
                && !configuration.identity.acceptsTokens
            let startup = DatabaseStartupService(shared: shared, refresher: refresher, authenticator: keys, requiresKeys: requiresKeys,
                                                 onReady: { [components] in
                // A queue in memory cannot tell a task another live replica runs from one a dead
                // replica left: resuming would run it twice. Only a shared queue resumes.
                guard components.runner.queue.leaseDuration != nil else {
                    logger.warning("unfinished tasks are not resumed: this replica's work queue is not shared")
                    return
                }
                // Their research searches the shared knowledge base: resumed once its indexes are
                // loaded (the follower starts loading when the database is prepared, before this).
                while !research.knowledge.isLoaded { try await Task.sleep(for: .milliseconds(50)) }
                let resumed = try await Self.resumeUnfinishedTasks(service: research.service, components: components)
                if resumed > 0 { logger.info("resuming unfinished tasks", metadata: ["count": .stringConvertible(resumed)]) }
            }, logger: logger)
            components.backgroundServices.insert(startup, at: 0)
            // Steps, ends and cancellations other replicas record reach this replica's task
            // directory, runner and listing through the event store's change feed. The feed
            // retries with backoff until the database is up and migrated.
            let feedMode: PostgresChangeFeed.Mode = switch shared.notify {
            case .listen: .listen()
            case .poll: .poll(every: .milliseconds(500))
            }
            let feed = PostgresChangeFeed(database: shared.database, mode: feedMode, start: .now, store: shared.eventStore, logger: logger)
            components.backgroundServices.append(contentsOf: [
                feed, TaskChangeFollower(runner: runner, feed: feed, pushConfigs: pushConfigs, logger: logger),
            ] as [any Service])
            components.readinessChecks.append(shared.readinessCheck)
            // The shared knowledge base: loaded from the database's snapshot once it is ready, then
            // following every replica's ingests and removals (a search here sees them within its
            // poll interval); its snapshot saved on schedule and at shutdown.
            let knowledge = research.knowledge
            components.backgroundServices.append(KnowledgeChangeFollower(
                knowledge: knowledge, databaseReady: { shared.currentUnavailability == nil }, logger: logger))
            components.readinessChecks.append(ResearchEnvironment.sharedKnowledgeReadiness(knowledge))
        }
        return ServerEnvironment(research: research, components: components, keys: keys, tokens: tokens, shared: shared)
    }

    /// The runner's work queue: in memory for one process; with a shared database, the
    /// database's (claims with leases, `FOR UPDATE SKIP LOCKED`), so that replicas share the
    /// work and take over a dead replica's tasks.
    static func workQueue(_ shared: SharedDatabase?, logger: Logger) -> any TaskWorkQueue {
        guard let shared else { return InProcessTaskQueue() }
        return PostgresTaskQueue(database: shared.database, replicaID: shared.replicaID, logger: logger)
    }

    /// `--retention`: the service that prunes ended tasks periodically (none without it).
    static func retentionServices(_ configuration: AresConfiguration, directory: TaskDirectory, logger: Logger) -> [any Service] {
        guard let period = configuration.retention else { return [] }
        return [TaskRetentionService(retention: TaskRetention(service: directory.service, directory: directory), keep: period.duration, logger: logger)]
    }

    /// The OIDC token verifier of the configuration, nil when no issuer is set. Calls to the
    /// provider trust the system's CAs and `--ca-file`.
    public static func openTokenVerifier(_ configuration: AresConfiguration, logger: Logger) throws -> OIDCTokenVerifier? {
        let identity = configuration.identity
        guard let issuer = identity.oidcIssuer else { return nil }
        let settings = try OIDCSettings(issuer: issuer, audience: identity.oidcAudience ?? "", roleClaim: identity.oidcRoleClaim,
                                        roleMap: RoleMap(identity.oidcRoleMap), leewaySeconds: identity.oidcLeewaySeconds)
        let files = configuration.outbound.trustedCAFiles
        if files.isEmpty { return OIDCTokenVerifier(settings: settings, logger: logger) }
        return OIDCTokenVerifier(settings: settings, tlsConfiguration: try files.clientConfiguration(presentingCertificate: false), logger: logger)
    }

    /// Records in the audit trail that the server starts, with the configuration it serves
    /// with (redacted). Called once every check has passed, just before serving, so a start
    /// that was refused leaves no such record.
    public func recordStart(_ configuration: AresConfiguration) async throws {
        try await components.audit?.recordDurably(AuditEvent(kind: .serverStarted, outcome: .succeeded, principal: AuditEvent.localOperator,
                                                             details: configuration.auditedSettings))
    }

    /// The audit trail of the data directory (`audit.sqlite`), created if needed.
    public static func openAuditTrail(_ configuration: AresConfiguration, logger: Logger = Logger(label: "ares.audit")) throws -> AuditTrail {
        try AuditTrail(path: auditTrailPath(configuration), logger: logger)
    }

    public static func auditTrailPath(_ configuration: AresConfiguration) -> String {
        configuration.dataDirectory.appendingPathComponent(AuditTrail.fileName).path
    }

    /// The API keys of the data directory (`access.sqlite`).
    public static func openKeyStore(_ configuration: AresConfiguration) throws -> APIKeyStore {
        try APIKeyStore(path: configuration.dataDirectory.appendingPathComponent(APIKeyStore.fileName).path)
    }

    /// Takes up the tasks an earlier run left unfinished (with their webhooks). With a shared
    /// database, start-up does this once the database is ready: then this returns 0.
    public func resumeUnfinishedTasks() async throws -> Int {
        guard shared == nil else { return 0 }
        return try await Self.resumeUnfinishedTasks(service: research.service, components: components)
    }

    static func resumeUnfinishedTasks(service: ResearchTaskService, components: ServerComponents) async throws -> Int {
        let unfinished = try await service.unfinishedTasks()
        for id in unfinished { _ = try await components.pushConfigs.list(taskID: id) }
        try await components.runner.resume(unfinished)
        return unfinished.count
    }
}
