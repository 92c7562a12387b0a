import Audit
import Foundation
import Identity
import Knowledge
import Logging
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

    /// `ares serve` passes the configured limits; `ares mcp` the defaults, no development mode
    /// and no private webhooks.
    public static func open(_ configuration: AresConfiguration, limits: TaskRunner.Limits, developmentMode: Bool,
                            allowPrivateWebhooks: Bool, knowledgeAccess: KnowledgeBase.AccessMode, logger: Logger,
                            stepTracing: TaskStepTracing? = nil, warning: (String) -> Void) async throws -> ServerEnvironment {
        let research = try await ResearchEnvironment.open(configuration, options: .init(access: knowledgeAccess), warning: warning)
        let keyStore = try openKeyStore(configuration)
        let keys = try APIKeyAuthenticator(store: keyStore)
        let audit = try openAuditTrail(configuration, logger: logger)
        let tokens = try openTokenVerifier(configuration, logger: logger)
        // The provider's keys are loaded before the first request; if it is down, tokens are
        // refused with that reason until a later attempt succeeds (API keys keep working).
        await tokens?.loadKeys()
        let directory = TaskDirectory(service: research.service)
        let runner = TaskRunner(directory: directory, limits: limits, logger: logger)
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
        let components = ServerComponents(runner: runner, pushConfigs: pushConfigs, knowledge: research.knowledge,
                                          access: AccessControl(authenticator: keys, tokens: tokens, developmentMode: developmentMode),
                                          metrics: metrics, logger: logger,
                                          backgroundServices: [sender, audit.writer] + (tokens.map { [$0.refresher] } ?? [])
                                              + retentionServices(configuration, directory: directory, logger: logger),
                                          keyStore: keyStore,
                                          audit: audit)
        return ServerEnvironment(research: research, components: components, keys: keys, tokens: tokens)
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

    /// Takes up the tasks an earlier run left unfinished (with their webhooks).
    public func resumeUnfinishedTasks() async throws -> Int {
        let unfinished = try await research.service.unfinishedTasks()
        for id in unfinished { _ = try await components.pushConfigs.list(taskID: id) }
        try await components.runner.resume(unfinished)
        return unfinished.count
    }
}
