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
    public var addressPolicy: WebhookAddressPolicy { WebhookAddressPolicy(allowsPrivateAddresses: allowsPrivateAddresses) }

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
        try await validate(config)
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

    /// Checks a config before it is stored: an http(s) URL whose host resolves only to
    /// addresses outside the server's network (unless allowed), and header-safe credentials.
    func validate(_ config: A2ATaskPushNotificationConfig) async throws {
        guard config.url.utf8.count <= 2048 else { throw JSONRPCError.invalidParams("url: longer than 2048 bytes") }
        guard let url = URL(string: config.url), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host, !host.isEmpty else {
            throw JSONRPCError.invalidParams("url: '\(config.url.prefix(200))' is not an http(s) URL with a host")
        }
        guard url.user == nil, url.password == nil else {
            throw JSONRPCError.invalidParams("url: must not carry a user name or password; use authentication.credentials")
        }
        do {
            _ = try await addressPolicy.check(host: host)
        } catch let refusal as WebhookAddressPolicy.Refusal {
            let hint = allowsPrivateAddresses ? "" : " (start the server with --allow-private-webhooks to permit addresses inside its network)"
            throw JSONRPCError.invalidParams("url: \(refusal.description); this server sends webhooks only to public addresses\(hint)")
        }
        guard (config.token?.utf8.count ?? 0) <= 512 else { throw JSONRPCError.invalidParams("token: longer than 512 bytes") }
        if let token = config.token, !Self.isHeaderSafe(token) {
            throw JSONRPCError.invalidParams("token: only visible ASCII characters and spaces are allowed (it is sent as an HTTP header)")
        }
        if let authentication = config.authentication {
            guard !authentication.scheme.isEmpty, authentication.scheme.utf8.count <= 64,
                  authentication.scheme.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw JSONRPCError.invalidParams("authentication.scheme: must be one word of visible ASCII, e.g. Bearer")
            }
            if let credentials = authentication.credentials {
                guard credentials.utf8.count <= 4096, Self.isHeaderSafe(credentials) else {
                    throw JSONRPCError.invalidParams("authentication.credentials: at most 4096 visible ASCII characters (it is sent as an HTTP header)")
                }
            }
        }
    }

    /// Visible ASCII and spaces only: no CR or LF (header injection), no NUL or other controls.
    static func isHeaderSafe(_ text: String) -> Bool {
        text.utf8.allSatisfy { (0x20...0x7E).contains($0) }
    }
}
