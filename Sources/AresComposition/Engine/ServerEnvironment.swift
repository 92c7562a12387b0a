import Foundation
import Knowledge
import Logging
import Security
import Server
import TaskService

/// Wires the server's components from a configuration: the research environment, the task
/// directory and runner, push notifications, metrics and access control.
public struct ServerEnvironment {
    public let research: ResearchEnvironment
    public let components: ServerComponents
    public let keys: APIKeyAuthenticator

    /// `ares serve` passes the configured limits; `ares mcp` the defaults, no development mode
    /// and no private webhooks.
    public static func open(_ configuration: AresConfiguration, limits: TaskRunner.Limits, developmentMode: Bool,
                            allowPrivateWebhooks: Bool, knowledgeAccess: KnowledgeBase.AccessMode, logger: Logger,
                            stepTracing: TaskStepTracing? = nil, warning: (String) -> Void) async throws -> ServerEnvironment {
        let research = try await ResearchEnvironment.open(configuration, options: .init(access: knowledgeAccess), warning: warning)
        let keys = try APIKeyAuthenticator(store: try openKeyStore(configuration))
        let directory = TaskDirectory(service: research.service)
        let runner = TaskRunner(directory: directory, limits: limits, logger: logger)
        let validator = PushNotificationConfigValidator(allowsPrivateAddresses: allowPrivateWebhooks)
        let pushConfigs = PushNotificationConfigStore(store: research.store, validate: validator.validate)
        let metrics = ServerMetrics()
        let sender = PushNotificationSender(configs: pushConfigs, policy: validator.addressPolicy, logger: logger)
        directory.addListener { update in
            sender.taskUpdated(update)
            stepTracing?.record(update)
            metrics.recordStep(update.event.typeName, seconds: update.stepSeconds)
            if update.snapshot.state.isTerminal { metrics.recordTaskEnded(state: update.snapshot.state.phase?.rawValue ?? "unknown") }
        }
        let components = ServerComponents(runner: runner, pushConfigs: pushConfigs, knowledge: research.knowledge,
                                          access: AccessControl(authenticator: keys, developmentMode: developmentMode),
                                          metrics: metrics, logger: logger, backgroundServices: [sender])
        return ServerEnvironment(research: research, components: components, keys: keys)
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
