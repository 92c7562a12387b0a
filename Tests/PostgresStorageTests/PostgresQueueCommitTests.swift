import Foundation
@testable import PostgresStorage
import PostgresNIO
import Storage
import TaskService
import Testing

/// The queue's claims and releases commit without waiting for the WAL flush, and only their own
/// transaction does (`PostgresTaskQueue.asynchronousCommit`, a condition of the rows they write):
/// each statement runs here inside an explicit transaction on one connection, so the setting it
/// leaves can be read before and after that transaction ends.
@Suite struct PostgresQueueCommitTests {
    @Test func aClaimAndARelease() async throws {
        let database = try await PostgresTestDatabase.make("queue-commit")
        try await database.withStore { _, postgres in
            let queue = PostgresTaskQueue(database: postgres, replicaID: "replica-a", leaseDuration: .seconds(60), logger: .quiet)
            try await queue.enqueue("task-1", owner: nil)
            let settings = try await postgres.pool.withConnection { connection -> [String] in
                var seen: [String] = []
                func synchronousCommit() async throws -> String {
                    for try await value in try await connection.query("SHOW synchronous_commit", logger: .quiet).decode(String.self) {
                        return value
                    }
                    return "none"
                }
                try await connection.query("BEGIN", logger: .quiet)
                seen.append(try await synchronousCommit())
                let claimed = try await connection.execute(
                    PostgresTaskQueue.ClaimStatement(replicaID: "replica-a", leaseMilliseconds: 60_000, excludedOwners: [], limit: 1),
                    logger: .quiet)
                var claims: [Int64] = []
                for try await row in claimed { claims.append(row.2) }
                seen.append("claimed \(claims)")
                seen.append(try await synchronousCommit())
                try await connection.query("COMMIT", logger: .quiet)
                seen.append(try await synchronousCommit())

                try await connection.query("BEGIN", logger: .quiet)
                let released = try await connection.execute(
                    PostgresTaskQueue.ReleaseEndedStatement(taskIDs: ["task-1"], attempts: [1], replicaID: "replica-a"), logger: .quiet)
                var ids: [String] = []
                for try await id in released { ids.append(id) }
                seen.append("released \(ids)")
                seen.append(try await synchronousCommit())
                try await connection.query("COMMIT", logger: .quiet)
                seen.append(try await synchronousCommit())
                return seen
            }
            #expect(settings == ["on", "claimed [1]", "off", "on", "released [\"task-1\"]", "off", "on"],
                    "the claim and the release turn synchronous_commit off for their own transaction only")
        }
    }
}
