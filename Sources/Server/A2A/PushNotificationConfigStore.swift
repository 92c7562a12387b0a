import Foundation
import Storage
import Synchronization

/// Push-notification configs of tasks, durable in the event store (one stream per task,
/// `push-<taskId>`, of set/deleted events) and cached in memory for the sender.
public final class PushNotificationConfigStore: Sendable {
    public static let maximumConfigsPerTask = 10
    private let store: any EventStore
    private let cache = Mutex<[String: [A2ATaskPushNotificationConfig]]>([:])
    /// Webhooks on loopback, private or link-local addresses reach inside the server's network
    /// (server-side request forgery): refused unless allowed (`--allow-private-webhooks`, `--dev`).
    public let allowsPrivateAddresses: Bool

    public init(store: any EventStore, allowsPrivateAddresses: Bool = false) {
        self.store = store
        self.allowsPrivateAddresses = allowsPrivateAddresses
    }

    private struct Deleted: Codable { var id: String }

    /// Stores `config` (given an id when it has none) and returns it.
    public func set(_ config: A2ATaskPushNotificationConfig, taskID: String) async throws -> A2ATaskPushNotificationConfig {
        var config = config
        config.taskId = taskID
        if config.id?.isEmpty ?? true { config.id = "push-" + UUID().uuidString.lowercased() }
        try validate(config)
        var configs = try await list(taskID: taskID)
        configs.removeAll { $0.id == config.id }
        guard configs.count < Self.maximumConfigsPerTask else {
            throw JSONRPCError.invalidParams("task '\(taskID)' already has \(Self.maximumConfigsPerTask) push notification configs; delete one first")
        }
        let payload = try JSONEncoder().encode(config)
        _ = try await store.append([NewEvent(type: "PushConfigSet", payload: payload)], to: Self.stream(taskID), expectedVersion: nil)
        configs.append(config)
        cache.withLock { $0[taskID] = configs }
        return config
    }

    /// Deletes a config; returns whether it existed.
    public func delete(id: String, taskID: String) async throws -> Bool {
        var configs = try await list(taskID: taskID)
        guard configs.contains(where: { $0.id == id }) else { return false }
        let payload = try JSONEncoder().encode(Deleted(id: id))
        _ = try await store.append([NewEvent(type: "PushConfigDeleted", payload: payload)], to: Self.stream(taskID), expectedVersion: nil)
        configs.removeAll { $0.id == id }
        cache.withLock { $0[taskID] = configs }
        return true
    }

    public func list(taskID: String) async throws -> [A2ATaskPushNotificationConfig] {
        if let cached = cache.withLock({ $0[taskID] }) { return cached }
        var configs: [A2ATaskPushNotificationConfig] = []
        for event in try await store.read(stream: Self.stream(taskID)) {
            switch event.type {
            case "PushConfigSet":
                let config = try JSONDecoder().decode(A2ATaskPushNotificationConfig.self, from: event.payload)
                configs.removeAll { $0.id == config.id }
                configs.append(config)
            case "PushConfigDeleted":
                let deleted = try JSONDecoder().decode(Deleted.self, from: event.payload)
                configs.removeAll { $0.id == deleted.id }
            default:
                continue
            }
        }
        cache.withLock { $0[taskID] = configs }
        return configs
    }

    /// The configs known in memory (the sender must not wait on the store per step).
    func cachedConfigs(taskID: String) -> [A2ATaskPushNotificationConfig] {
        cache.withLock { $0[taskID] ?? [] }
    }

    static func stream(_ taskID: String) -> String { "push-" + taskID }

    func validate(_ config: A2ATaskPushNotificationConfig) throws {
        guard let url = URL(string: config.url), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host, !host.isEmpty else {
            throw JSONRPCError.invalidParams("url: '\(config.url.prefix(200))' is not an http(s) URL with a host")
        }
        if !allowsPrivateAddresses, let address = WebhookAddressPolicy.privateAddress(of: host) {
            throw JSONRPCError.invalidParams(
                "url: \(host) is a private, loopback or link-local address (\(address)); this server does not send webhooks inside its network (start it with --allow-private-webhooks to permit it)")
        }
        guard config.url.utf8.count <= 2048 else { throw JSONRPCError.invalidParams("url: longer than 2048 bytes") }
        guard (config.token?.utf8.count ?? 0) <= 512 else { throw JSONRPCError.invalidParams("token: longer than 512 bytes") }
        if let authentication = config.authentication, authentication.scheme.isEmpty || authentication.scheme.contains(where: \.isWhitespace) {
            throw JSONRPCError.invalidParams("authentication.scheme: must be one word, e.g. Bearer")
        }
    }
}
