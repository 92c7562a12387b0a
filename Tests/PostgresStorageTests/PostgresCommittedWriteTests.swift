import Foundation
import PostgresNIO
import PostgresStorage
import Testing

/// A write is acknowledged only once PostgreSQL has committed it (`PostgresDatabasePool
/// .queryCommitted` / `.executeCommitted`, which the event store's one-statement appends, the
/// work queue's enqueue, the API key store and the knowledge base's settings use).
///
/// PostgresNIO 1.33 ends a statement's rows at CommandComplete, which PostgreSQL sends before it
/// commits the statement's implicit transaction (at the Sync message after it). A commit that
/// fails shows whether a call waited for it: here a deferred unique constraint, checked only
/// at commit. Both inserted rows reach the caller before that check fails; PostgresNIO then
/// closes the connection on the unexpected error, and the commit barrier queued behind the
/// statement is never answered, so the call ends at its deadline with an error instead.
@Suite struct PostgresCommittedWriteTests {
    @Test func aWriteWhoseCommitFailsIsNotAcknowledged() async throws {
        let database = try await PostgresTestDatabase.make("commit")
        try database.superuserSQL("CREATE TABLE deferred_unique (x int UNIQUE DEFERRABLE INITIALLY DEFERRED); GRANT ALL ON deferred_unique TO ares")
        var settings = try database.settings()
        // A leased connection's use is bounded by 12 × this.
        settings.requestTimeout = .milliseconds(250)
        try await PostgresDatabase.withDatabase(settings: settings, logger: .quiet) { postgres in
            let pool = postgres.pool
            await #expect(throws: (any Error).self, "a write whose commit failed was acknowledged") {
                try await pool.queryCommitted("INSERT INTO deferred_unique VALUES (1), (1) RETURNING x")
            }
            // A write whose commit succeeds returns its rows.
            let rows = try await pool.queryCommitted("INSERT INTO deferred_unique VALUES (2) RETURNING x")
            #expect(try rows.map { try $0.decode(Int32.self) } == [2])
        }
        #expect(try database.superuserSQL("SELECT string_agg(x::text, ',') FROM deferred_unique") == "2")
    }
}
