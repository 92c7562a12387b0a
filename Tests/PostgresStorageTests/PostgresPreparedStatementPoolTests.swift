import Foundation
import PostgresNIO
import PostgresStorage
import Storage
import Testing

/// The two pools of a replica's database (`PostgresDatabase.client` and `.preparedClient`):
/// the statements every task sends run on the prepared-statement pool, whose connections plan
/// once and never scan a table whole; every other query keeps planning at each call.
@Suite struct PostgresPreparedStatementPoolTests {
    @Test func appendsRunOnThePreparedStatementPoolWhoseConnectionsPlanOnce() async throws {
        let database = try await PostgresTestDatabase.make("prepared-pool")
        try await database.withStore { store, postgres in
            func connections(named name: String) async throws -> String {
                try await database.superuserSQL("""
                    SELECT count(*) FROM pg_stat_activity WHERE datname = '\(database.name)' AND application_name = '\(name)'
                    """)
            }
            #expect(try await connections(named: "ares-prepared") == "0", "nothing was appended yet")
            _ = try await store.append([NewEvent(type: "Created", payload: Data("{}".utf8))], to: "pool-1", expectedVersion: 0)
            #expect(try await connections(named: "ares-prepared") == "1", "the append went through the prepared-statement pool")

            func settings(of client: PostgresClient) async throws -> String {
                let rows = try await client.query("""
                    SELECT current_setting('plan_cache_mode') || ' ' || current_setting('enable_seqscan') || ' ' || \
                    current_setting('jit') || ' ' || current_setting('synchronous_commit') || ' ' || current_setting('application_name')
                    """)
                for try await line in rows.decode(String.self) { return line }
                return ""
            }
            #expect(try await settings(of: postgres.preparedClient) == "force_generic_plan off off on ares-prepared")
            let general = try await settings(of: postgres.client)
            #expect(general.hasPrefix("force_custom_plan on ") && general.hasSuffix(" on ares"), "the general pool: \(general)")
        }
    }
}
