import Foundation
import PostgresNIO
import PostgresStorage
import Storage
import Testing

/// The ping reads how full PostgreSQL's notification queue is: a session that listens and
/// stops reading (idle in a transaction) holds the queue, and the usage grows with every
/// append's notification (what `SharedDatabase` refuses writes on).
@Suite struct PostgresNotificationQueueTests {
    @Test func theUsageGrowsWhileAListenerStopsReading() async throws {
        try await PostgresTestDatabase.make("notifyqueue").withStore { store, database in
            let pinger = PostgresDatabasePinger(database: database)
            let before = await pinger.check(id: 1)
            #expect(before.problem == nil && before.notificationQueueUsage != nil, "\(before)")
            try await database.pool.withConnection { listener in
                try await listener.query("LISTEN \(unescaped: PostgresEventStore.notificationChannel)", logger: .quiet)
                try await listener.query("BEGIN", logger: .quiet)
                do {
                    // One notification per commit, each ~100 bytes: several of the queue's 8 kB pages.
                    for index in 0..<600 {
                        _ = try await store.append([NewEvent(type: "Step", payload: Data("{}".utf8))], to: "task-\(index)", expectedVersion: 0)
                    }
                    let held = await pinger.check(id: 2)
                    #expect(held.problem == nil)
                    #expect((held.notificationQueueUsage ?? 0) > (before.notificationQueueUsage ?? 1), "\(held) after \(before)")
                } catch {
                    _ = try? await listener.query("ROLLBACK", logger: .quiet)
                    throw error
                }
                try await listener.query("ROLLBACK", logger: .quiet)
                try await listener.query("UNLISTEN *", logger: .quiet)
            }
        }
    }
}
