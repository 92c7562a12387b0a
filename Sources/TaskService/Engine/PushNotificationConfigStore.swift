import Foundation
import Storage
import Synchronization

/// Why a push config was not stored.
public enum PushNotificationConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooMany(taskID: String, limit: Int)

    public var description: String {
        switch self {
        case let .tooMany(taskID, limit): "task '\(taskID)' already has \(limit) push notification configs; delete one first"
        }
    }
}

/// Push-notification configs of tasks, durable in the event store (one stream per task,
/// `push-<taskId>`, of set/deleted events) and cached in memory for the sender. Every config
/// passes `validate` (the server's address policy) before it is stored.
public final class PushNotificationConfigStore: Sendable {
    public typealias Validator = @Sendable (PushNotificationConfig) async throws -> Void
    public static let maximumConfigsPerTask = 10
    private let store: any EventStore
    private let cache = Mutex<[String: [PushNotificationConfig]]>([:])
    private let validator: Validator

    public init(store: any EventStore, validate: @escaping Validator = { _ in }) {
        self.store = store
        validator = validate
    }

    /// Checks a config as `set` would, without storing it.
    public func validate(_ config: PushNotificationConfig) async throws {
        try await validator(config)
    }

    private struct Deleted: Codable { var id: String }

    /// Stores `config` (given an id when it has none) and returns it.
    public func set(_ config: PushNotificationConfig, taskID: String) async throws -> PushNotificationConfig {
        var config = config
        config.taskId = taskID
        if config.id?.isEmpty ?? true { config.id = "push-" + UUID().uuidString.lowercased() }
        try await validate(config)
        var configs = try await list(taskID: taskID)
        configs.removeAll { $0.id == config.id }
        guard configs.count < Self.maximumConfigsPerTask else {
            throw PushNotificationConfigError.tooMany(taskID: taskID, limit: Self.maximumConfigsPerTask)
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

    public func list(taskID: String) async throws -> [PushNotificationConfig] {
        if let cached = cache.withLock({ $0[taskID] }) { return cached }
        var configs: [PushNotificationConfig] = []
        for event in try await store.read(stream: Self.stream(taskID)) {
            switch event.type {
            case "PushConfigSet":
                let config = try JSONDecoder().decode(PushNotificationConfig.self, from: event.payload)
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
    public func cachedConfigs(taskID: String) -> [PushNotificationConfig] {
        cache.withLock { $0[taskID] ?? [] }
    }

    static func stream(_ taskID: String) -> String { "push-" + taskID }

}
