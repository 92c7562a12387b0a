import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOSSL
import NIOHTTP1
import Resilience
import ServiceLifecycle
import Synchronization
import TaskService

/// Delivers each step of a task to its webhooks: a POST of the A2A StreamResponse with the
/// config's token in `X-A2A-Notification-Token` (and its authentication, if any), retried with
/// backoff and jitter. Deliveries of one task go out in order; a failing webhook never slows
/// the task itself.
///
/// A swift-service-lifecycle `Service`: `run()` owns one child task per task with deliveries
/// pending (its "lane"), so deliveries run concurrently across tasks and in order within one.
/// At shutdown the lanes get `shutdownGrace` to finish, then are canceled (the steps of an
/// unfinished task are sent again when it resumes; its configs are durable).
///
/// Each attempt resolves the webhook's host once, checks every address against the policy and
/// connects to the checked address (AsyncHTTPClient's DNS override keeps the name for the
/// Host header, SNI and certificate checks). Redirects are never followed, and at most
/// `maximumResponseBytes` of an answer are read before the connection is closed.
public final class PushNotificationSender: Service, Sendable {
    private struct Delivery: Sendable {
        var taskID: String
        var bodies: [Data]
        /// nil: this replica has not read the task's configs yet (a task queued on another
        /// replica and claimed here); the lane reads them before it delivers.
        var targets: [PushNotificationConfig]?
        var isLast: Bool
    }

    private struct ShutdownGraceOver: Error {}

    private let configs: PushNotificationConfigStore
    private let policy: WebhookAddressPolicy
    /// Trusts the configured extra CAs besides the system's; nil: the system's only.
    private let tlsConfiguration: TLSConfiguration?
    private let retry: RetryPolicy
    private let timeout: Duration
    private let shutdownGrace: Duration
    private let logger: Logger
    private let deliveries: AsyncStream<Delivery>
    private let enqueue: AsyncStream<Delivery>.Continuation
    /// Lanes still working, and a signal when the last one is done.
    private let activeLanes = Mutex(0)
    private let idle: AsyncStream<Void>
    private let becameIdle: AsyncStream<Void>.Continuation
    public static let maximumResponseBytes = 4096

    public init(configs: PushNotificationConfigStore, policy: WebhookAddressPolicy, tlsConfiguration: TLSConfiguration? = nil, logger: Logger,
                retry: RetryPolicy = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(200), maxDelay: .seconds(5)),
                timeout: Duration = .seconds(10), shutdownGrace: Duration = .seconds(5)) {
        self.configs = configs
        self.policy = policy
        self.tlsConfiguration = tlsConfiguration
        self.logger = logger
        self.retry = retry
        self.timeout = timeout
        self.shutdownGrace = shutdownGrace
        (deliveries, enqueue) = AsyncStream.makeStream(of: Delivery.self)
        (idle, becameIdle) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Called by the task directory for every step recorded here.
    public func taskUpdated(_ update: TaskUpdate) {
        let taskID = update.snapshot.id, isLast = update.snapshot.state.isTerminal
        let targets = configs.cachedConfigs(taskID: taskID)
        if let targets, targets.isEmpty {
            // Nothing to send, nothing more to remember once the task has ended.
            if isLast { configs.forget(taskID: taskID) }
            return
        }
        let bodies = A2AStreamEvents.responses(for: update).compactMap { try? JSONRPCResponseWriter.encode($0) }
        enqueue.yield(Delivery(taskID: taskID, bodies: bodies, targets: targets, isLast: isLast))
    }

    /// The delivery's targets, read from the store when this replica had not read them.
    private func targets(of delivery: Delivery) async -> [PushNotificationConfig] {
        if let targets = delivery.targets { return targets }
        do {
            return try await configs.list(taskID: delivery.taskID)
        } catch {
            logger.warning("push notifications of a step not sent: the task's webhooks could not be read", metadata: [
                "task": .string(delivery.taskID), "error": .string("\(error)"),
            ])
            return []
        }
    }

    public func run() async throws {
        do {
            try await withThrowingDiscardingTaskGroup { group in
                var lanes: [String: AsyncStream<Delivery>.Continuation] = [:]
                await withGracefulShutdownHandler {
                    for await delivery in deliveries {
                        if lanes[delivery.taskID] == nil {
                            let (lane, continuation) = AsyncStream.makeStream(of: Delivery.self)
                            lanes[delivery.taskID] = continuation
                            activeLanes.withLock { $0 += 1 }
                            group.addTask {
                                for await delivery in lane {
                                    let targets = await self.targets(of: delivery)
                                    for body in delivery.bodies {
                                        for target in targets { await self.deliver(body, to: target, taskID: delivery.taskID) }
                                    }
                                    if delivery.isLast { self.configs.forget(taskID: delivery.taskID) }
                                }
                                if self.activeLanes.withLock({ $0 -= 1; return $0 == 0 }) { self.becameIdle.yield() }
                            }
                        }
                        lanes[delivery.taskID]?.yield(delivery)
                        // The last step's deliveries run on; nothing more comes for this task.
                        if delivery.isLast { lanes.removeValue(forKey: delivery.taskID)?.finish() }
                    }
                } onGracefulShutdown: {
                    self.enqueue.finish()
                }
                for lane in lanes.values { lane.finish() }
                guard activeLanes.withLock({ $0 }) > 0 else { return }
                // Deliveries in flight get the grace; then the group is canceled.
                let (idle, grace) = (self.idle, shutdownGrace)
                group.addTask {
                    await withTaskGroup(of: Void.self) { race in
                        race.addTask { for await _ in idle where self.activeLanes.withLock({ $0 }) == 0 { return } }
                        race.addTask { try? await Task.sleep(for: grace) }
                        await race.next()
                        race.cancelAll()
                    }
                    throw ShutdownGraceOver()
                }
            }
        } catch is ShutdownGraceOver {
            // Expected: the grace is over (or every lane had finished before it).
        }
    }

    /// Why one attempt failed, and whether another attempt could help.
    struct DeliveryFailure: Error, CustomStringConvertible {
        var description: String
        var isRetryable: Bool
    }

    private func deliver(_ body: Data, to config: A2ATaskPushNotificationConfig, taskID: String) async {
        let policy = self.policy
        let tlsConfiguration = self.tlsConfiguration
        let timeout = self.timeout
        do {
            try await retry.run(isRetryable: { ($0 as? DeliveryFailure)?.isRetryable ?? true }, onRetry: { [logger] attempt, error, delay in
                logger.warning("push notification failed; retrying", metadata: [
                    "taskId": .string(taskID), "url": .string(config.url), "attempt": .stringConvertible(attempt),
                    "error": .string("\(error)"), "retryInMs": .stringConvertible(Int(delay.seconds * 1000)),
                ])
            }) {
                try await Self.post(body, to: config, policy: policy, tlsConfiguration: tlsConfiguration, timeout: timeout)
            }
        } catch {
            logger.error("push notification dropped", metadata: [
                "taskId": .string(taskID), "url": .string(config.url), "error": .string("\(error)"),
            ])
        }
    }

    /// One delivery attempt.
    static func post(_ body: Data, to config: A2ATaskPushNotificationConfig, policy: WebhookAddressPolicy,
                     tlsConfiguration: TLSConfiguration?, timeout: Duration) async throws {
        guard let url = URL(string: config.url), let host = url.host else {
            throw DeliveryFailure(description: "the URL has no host", isRetryable: false)
        }
        let target: WebhookAddressPolicy.Target
        do {
            target = try await policy.check(host: host)
        } catch let refusal as WebhookAddressPolicy.Refusal {
            throw DeliveryFailure(description: "not sent: \(refusal.description)", isRetryable: false)
        }
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(5), read: TimeAmount.nanoseconds(Int64(timeout.seconds * 1e9))))
        configuration.decompression = .disabled
        configuration.httpVersion = .http1Only
        if let tlsConfiguration { configuration.tlsConfiguration = tlsConfiguration }
        let name = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        if !target.isLiteral { configuration.dnsOverride = [name: target.address] }
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        do {
            try await send(body, to: config, with: client, timeout: timeout)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try? await client.shutdown()
    }

    private static func send(_ body: Data, to config: A2ATaskPushNotificationConfig, with client: HTTPClient, timeout: Duration) async throws {
        var request = HTTPClientRequest(url: config.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "ares-webhook")
        if let token = config.token, !token.isEmpty { request.headers.add(name: "X-A2A-Notification-Token", value: token) }
        if let authentication = config.authentication, let credentials = authentication.credentials, !credentials.isEmpty {
            request.headers.add(name: "Authorization", value: "\(authentication.scheme) \(credentials)")
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: TimeAmount.nanoseconds(Int64(timeout.seconds * 1e9)))
        // Read a little of the answer (a receiver may expect it to be read) and no more: a
        // hostile endpoint could answer with gigabytes.
        var read = 0
        for try await chunk in response.body {
            read += chunk.readableBytes
            if read >= maximumResponseBytes { break }
        }
        let status = Int(response.status.code)
        switch status {
        case 200..<300: return
        case 300..<400: throw DeliveryFailure(description: "the webhook answered a redirect (HTTP \(status)); redirects are not followed", isRetryable: false)
        case 408, 429, 500...: throw DeliveryFailure(description: "the webhook answered HTTP \(status)", isRetryable: true)
        default: throw DeliveryFailure(description: "the webhook refused the notification (HTTP \(status))", isRetryable: false)
        }
    }
}
