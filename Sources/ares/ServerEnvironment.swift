import Agents
import ArgumentParser
import Foundation
import Knowledge
import Logging
import Security
import Server
import TaskService

/// Wires the server's components from a data directory: the research environment, the task
/// directory and runner, push notifications, metrics and access control.
struct ServerEnvironment {
    let research: ResearchEnvironment
    let components: ServerComponents
    let keys: APIKeyAuthenticator

    static func open(data: DataDirectoryOptions, embedding: EmbedderOptions, model: ModelOptions, limits: TaskRunner.Limits,
                     developmentMode: Bool, knowledgeAccess: KnowledgeBase.AccessMode, logger: Logger,
                     stepTracing: TaskStepTracing? = nil, allowPrivateWebhooks: Bool = false) async throws -> ServerEnvironment {
        let research = try await ResearchEnvironment.open(
            data, embedder: try await embedding.makeEmbedder(), model: try model.makeLanguageModel(), requireDocuments: false, access: knowledgeAccess)
        let keyStore = try APIKeyStore(path: data.url.appendingPathComponent(APIKeyStore.fileName).path)
        let keys = try APIKeyAuthenticator(store: keyStore)
        let directory = TaskDirectory(service: research.service)
        let runner = TaskRunner(directory: directory, limits: limits)
        let pushConfigs = PushNotificationConfigStore(store: research.store, allowsPrivateAddresses: allowPrivateWebhooks)
        let metrics = ServerMetrics()
        let sender = PushNotificationSender(configs: pushConfigs, logger: logger)
        directory.addListener { update in
            sender.taskUpdated(update)
            stepTracing?.record(update)
            metrics.recordStep(update.event.typeName, seconds: update.stepSeconds)
            if update.snapshot.state.isTerminal { metrics.recordTaskEnded(state: update.snapshot.state.phase?.rawValue ?? "unknown") }
        }
        let components = ServerComponents(runner: runner, pushConfigs: pushConfigs, knowledge: research.knowledge,
                                          access: AccessControl(authenticator: keys, developmentMode: developmentMode),
                                          metrics: metrics, logger: logger)
        return ServerEnvironment(research: research, components: components, keys: keys)
    }

    /// Takes up the tasks an earlier run left unfinished (with their webhooks).
    func resumeUnfinishedTasks() async throws -> Int {
        let unfinished = try await research.service.unfinishedTasks()
        for id in unfinished { _ = try await components.pushConfigs.list(taskID: id) }
        try await components.runner.resume(unfinished)
        return unfinished.count
    }
}
