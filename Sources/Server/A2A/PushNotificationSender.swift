import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Resilience
import Synchronization

/// Delivers each step of a task to its webhooks: a POST of the A2A StreamResponse with the
/// config's token in `X-A2A-Notification-Token` (and its authentication, if any), retried with
/// backoff and jitter. Deliveries of one task go out in order; a failing webhook never slows
/// the task itself.
public final class PushNotificationSender: Sendable {
    private let configs: PushNotificationConfigStore
    private let retry: RetryPolicy
    private let timeout: Duration
    private let logger: Logger
    private let chains = Mutex<[String: Task<Void, Never>]>([:])
    private let session: URLSession

    public init(configs: PushNotificationConfigStore, logger: Logger,
                retry: RetryPolicy = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(200), maxDelay: .seconds(5)),
                timeout: Duration = .seconds(10)) {
        self.configs = configs
        self.logger = logger
        self.retry = retry
        self.timeout = timeout
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = Double(timeout.components.seconds)
        session = URLSession(configuration: configuration)
    }

    /// Called by the task directory for every recorded step.
    public func taskUpdated(_ update: TaskUpdate) {
        let targets = configs.cachedConfigs(taskID: update.snapshot.id)
        guard !targets.isEmpty else { return }
        let bodies = A2AStreamEvents.responses(for: update).compactMap { try? JSONRPCResponseWriter.encode($0) }
        let taskID = update.snapshot.id
        let isLast = update.snapshot.state.isTerminal
        chains.withLock { chains in
            let previous = chains[taskID]
            chains[taskID] = Task {
                await previous?.value
                for body in bodies {
                    for target in targets { await self.deliver(body, to: target, taskID: taskID) }
                }
            }
            // The last step's deliveries run on; nothing will be chained after them.
            if isLast { chains[taskID] = nil }
        }
    }

    private func deliver(_ body: Data, to config: A2ATaskPushNotificationConfig, taskID: String) async {
        guard let url = URL(string: config.url) else { return }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let token = config.token, !token.isEmpty { request.setValue(token, forHTTPHeaderField: "X-A2A-Notification-Token") }
        if let authentication = config.authentication, let credentials = authentication.credentials, !credentials.isEmpty {
            request.setValue("\(authentication.scheme) \(credentials)", forHTTPHeaderField: "Authorization")
        }
        let prepared = request
        let session = self.session
        do {
            try await retry.run(onRetry: { [logger] attempt, error, delay in
                logger.warning("push notification failed; retrying", metadata: [
                    "taskId": .string(taskID), "url": .string(config.url), "attempt": .stringConvertible(attempt),
                    "error": .string("\(error)"), "retryInMs": .stringConvertible(Int(delay.seconds * 1000)),
                ])
            }) {
                let (_, response) = try await session.data(for: prepared)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                guard (200..<300).contains(status) else { throw WebhookRefused(status: status) }
            }
        } catch {
            logger.error("push notification dropped after retries", metadata: [
                "taskId": .string(taskID), "url": .string(config.url), "error": .string("\(error)"),
            ])
        }
    }

    struct WebhookRefused: Error, CustomStringConvertible {
        var status: Int
        var description: String { "the webhook answered HTTP \(status)" }
    }
}
