@testable import AresComposition
import Foundation
import Storage
import Testing

/// Writes are refused, reads go on, while PostgreSQL's notification queue is nearly full (a
/// commit into a full queue fails after its rows were acknowledged). The usage itself is read
/// from a real PostgreSQL in `PostgresNotificationQueueTests`.
@Suite struct NotificationQueueRefusalTests {
    @Test func writesAreRefusedFromTheLimitWithAMessageThatSaysWhy() throws {
        var health = SharedDatabase.Health()
        health.prepared = true
        health.notificationQueueUsage = SharedDatabase.notificationQueueLimit - 0.01
        #expect(SharedDatabase.writeRefusal(health) == nil)
        health.notificationQueueUsage = 0.6
        let refused = try #require(SharedDatabase.writeRefusal(health))
        #expect(refused.reason == .notificationQueueFull)
        #expect(refused.detail.contains("60.0 % full") && refused.detail.contains("pg_stat_activity") && refused.detail.contains("below 50.0 %"),
                "\(refused.detail)")
        // Not an outage: the database answers, so nothing else is refused.
        #expect(SharedDatabase.unavailability(health, address: "db:5432", now: .now) == nil)
    }

    @Test func theGatedStoreRefusesWritesAndServesReads() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-gate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = try SQLiteEventStore(path: directory.appendingPathComponent("tasks.sqlite").path)
        _ = try await base.append([NewEvent(type: "A", payload: Data("{}".utf8))], to: "task-1", expectedVersion: 0)
        let refusal = StorageUnavailableError(reason: .notificationQueueFull, detail: "full")
        let gated = AvailabilityGatedEventStore(base: base, unavailability: { nil }, writeRefusal: { refusal })
        await #expect(throws: refusal) {
            try await gated.append([NewEvent(type: "B", payload: Data("{}".utf8))], to: "task-1", expectedVersion: 1)
        }
        await #expect(throws: refusal) {
            try await gated.prune([PruneRequest(stream: "task-1", expectedVersion: 1, summary: Data())])
        }
        #expect(try await gated.read(stream: "task-1").map(\.type) == ["A"], "reads go on, and the refused write left nothing")
        #expect(try await gated.streams().count == 1)
    }
}
