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
///
/// Replicas on one database (issue 16): a config set or deleted on one replica reaches the
/// others' caches through the change feed (`applyFollowed`, called by `TaskChangeFollower`), so
/// the replica that runs a task sends to the webhooks set on any replica, and every replica
/// lists the same configs. Each cached entry carries the stream version it reflects: an event
/// already applied (this replica's own, coming back) is skipped, and one after a gap drops the
/// entry, which the next `list` reads again.
public final class PushNotificationConfigStore: Sendable {
    public typealias Validator = @Sendable (PushNotificationConfig) async throws -> Void
    public static let maximumConfigsPerTask = 10

    /// A task's configs as of `version` of its stream.
    private struct Entry {
        var configs: [PushNotificationConfig]
        var version: Int64
    }

    private let store: any EventStore
    private let cache = Mutex<[String: Entry]>([:])
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
        let stored = try await store.append([NewEvent(type: "PushConfigSet", payload: payload)], to: Self.stream(taskID), expectedVersion: nil)
        apply(stored, to: taskID)
        return config
    }

    /// Deletes a config; returns whether it existed.
    public func delete(id: String, taskID: String) async throws -> Bool {
        let configs = try await list(taskID: taskID)
        guard configs.contains(where: { $0.id == id }) else { return false }
        let payload = try JSONEncoder().encode(Deleted(id: id))
        let stored = try await store.append([NewEvent(type: "PushConfigDeleted", payload: payload)], to: Self.stream(taskID), expectedVersion: nil)
        apply(stored, to: taskID)
        return true
    }

    public func list(taskID: String) async throws -> [PushNotificationConfig] {
        if let cached = cache.withLock({ $0[taskID] }) { return cached.configs }
        var entry = Entry(configs: [], version: 0)
        for event in try await store.read(stream: Self.stream(taskID)) {
            try Self.apply(event, to: &entry.configs)
            entry.version = event.version
        }
        let read = entry
        // Another call (or the feed) may have cached a later version meanwhile: keep the later.
        return cache.withLock { cache in
            if let cached = cache[taskID], cached.version >= read.version { return cached.configs }
            cache[taskID] = read
            return read.configs
        }
    }

    /// The configs known in memory (the sender must not wait on the store per step); nil when
    /// this replica has not read the task's configs (`list` reads them).
    public func cachedConfigs(taskID: String) -> [PushNotificationConfig]? {
        cache.withLock { $0[taskID]?.configs }
    }

    /// A task just submitted here without a config has none: remembered, so that its steps need
    /// no read of the store to find that out. Configs set later, here or on another replica,
    /// follow (`set`, `applyFollowed`).
    public func noteSubmittedWithoutConfigs(taskID: String) {
        cache.withLock { cache in
            if cache[taskID] == nil { cache[taskID] = Entry(configs: [], version: 0) }
        }
    }

    /// The task ended: its configs leave the memory (a later `list` reads them again).
    public func forget(taskID: String) {
        _ = cache.withLock { $0.removeValue(forKey: taskID) }
    }

    /// An event of a config stream that the change feed delivered (any replica's, this one's
    /// included). Other streams are ignored.
    public func applyFollowed(_ event: StoredEvent) {
        guard event.stream.hasPrefix(Self.streamPrefix) else { return }
        apply([event], to: String(event.stream.dropFirst(Self.streamPrefix.count)))
    }

    /// Applies stored events of a task's config stream to its cached entry, in version order:
    /// a version already reflected is skipped; a gap (or an event that does not decode) drops
    /// the entry. A task not cached stays so.
    private func apply(_ events: [StoredEvent], to taskID: String) {
        cache.withLock { cache in
            guard var entry = cache[taskID] else { return }
            for event in events where event.version > entry.version {
                guard event.version == entry.version + 1, (try? Self.apply(event, to: &entry.configs)) != nil else {
                    cache[taskID] = nil
                    return
                }
                entry.version = event.version
            }
            cache[taskID] = entry
        }
    }

    private static func apply(_ event: StoredEvent, to configs: inout [PushNotificationConfig]) throws {
        switch event.type {
        case "PushConfigSet":
            let config = try JSONDecoder().decode(PushNotificationConfig.self, from: event.payload)
            configs.removeAll { $0.id == config.id }
            configs.append(config)
        case "PushConfigDeleted":
            let deleted = try JSONDecoder().decode(Deleted.self, from: event.payload)
            configs.removeAll { $0.id == deleted.id }
        default:
            break
        }
    }

    static let streamPrefix = "push-"
    static func stream(_ taskID: String) -> String { streamPrefix + taskID }
}
