import Foundation
import Storage
import Testing
@testable import TaskService

/// Two replicas' config stores on one event store (a SQLite file here; on PostgreSQL the change
/// feed delivers the events that `applyFollowed` is given below): a webhook set or deleted on
/// one replica reaches the other's cache in order, its own events coming back change nothing,
/// and a gap makes it read the store again.
@Suite struct PushNotificationConfigStoreTests {
    final class Scratch: @unchecked Sendable {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ares-push-\(UUID().uuidString).sqlite").path
        deinit { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
    }

    static func config(_ id: String) -> PushNotificationConfig {
        PushNotificationConfig(id: id, url: "https://hooks.example/\(id)", token: "token-\(id)")
    }

    @Test func configsSetAndDeletedOnOneReplicaReachTheOthersCacheThroughTheFeed() async throws {
        let scratch = Scratch()
        let store = try SQLiteEventStore(path: scratch.path)
        let a = PushNotificationConfigStore(store: store), b = PushNotificationConfigStore(store: store)
        let task = "task-1", stream = PushNotificationConfigStore.stream("task-1")
        var delivered: Int64 = 0
        /// What the change feed would deliver to `replica` next: the stream's events after the last delivered.
        func follow(_ replicas: PushNotificationConfigStore...) async throws {
            let events = try await store.read(stream: stream, afterVersion: delivered)
            for replica in replicas { for event in events { replica.applyFollowed(event) } }
            delivered = events.last?.version ?? delivered
        }

        a.noteSubmittedWithoutConfigs(taskID: task)
        #expect(a.cachedConfigs(taskID: task) == [], "submitted here without webhooks: known to have none")
        #expect(b.cachedConfigs(taskID: task) == nil, "never read on b")

        _ = try await b.set(Self.config("x"), taskID: task)
        #expect(a.cachedConfigs(taskID: task) == [], "a has not followed yet")
        try await follow(a, b)
        #expect(a.cachedConfigs(taskID: task)?.map(\.id) == ["x"], "followed on a")
        #expect(b.cachedConfigs(taskID: task)?.map(\.id) == ["x"], "b's own event, coming back, adds nothing")

        #expect(try await b.delete(id: "x", taskID: task))
        try await follow(a, b)
        #expect(a.cachedConfigs(taskID: task) == [])
        #expect(try await a.list(taskID: task) == [])

        // a misses one event (a gap): it drops what it knew and reads the store at the next list.
        _ = try await b.set(Self.config("y"), taskID: task)
        _ = try await b.set(Self.config("z"), taskID: task)
        let last = try #require(try await store.read(stream: stream).last)
        a.applyFollowed(last)
        #expect(a.cachedConfigs(taskID: task) == nil, "a gap in versions: the entry is dropped")
        #expect(try await a.list(taskID: task).map(\.id) == ["y", "z"])
        #expect(a.cachedConfigs(taskID: task)?.map(\.id) == ["y", "z"])
        a.applyFollowed(last)
        #expect(a.cachedConfigs(taskID: task)?.map(\.id) == ["y", "z"], "a version already read is skipped")

        // A replica that never read the task's configs does not start a partial entry.
        let c = PushNotificationConfigStore(store: store)
        c.applyFollowed(last)
        #expect(c.cachedConfigs(taskID: task) == nil)
        // Events of other streams are not configs.
        a.forget(taskID: task)
        #expect(a.cachedConfigs(taskID: task) == nil)
        a.applyFollowed(StoredEvent(stream: task, version: 1, globalPosition: 1, type: "TaskSubmitted", payload: Data("{}".utf8),
                                    recordedAtMicroseconds: 0, hash: "h", previousHash: "p"))
        #expect(a.cachedConfigs(taskID: task) == nil)
    }
}
