import Foundation
import PostgresNIO
import PostgresStorage
import Testing

/// Versioned migrations on a real PostgreSQL: applied once each, also by replicas starting
/// together, and a schema newer than the binary refused with both versions named.
@Suite struct PostgresMigratorTests {
    @Test func aNewDatabaseIsMigratedAtStartAndAgainIsANoOp() async throws {
        let database = try await PostgresTestDatabase.make()
        let status = try await PostgresDatabase.withDatabase(settings: try database.settings(), logger: .quiet) { postgres in
            try await PostgresMigrator().status(client: postgres.client, logger: .quiet)
        }
        #expect(status.version == PostgresMigrations.all.count)
        #expect(status.applied.map(\.name) == PostgresMigrations.all.map(\.name))
        #expect(status.pending.isEmpty)
        await #expect(try database.superuserSQL("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE tablename IN ('ares_event_streams', 'ares_events', 'ares_schema_migrations', 'ares_task_queue')")
            == "ares_event_streams,ares_events,ares_schema_migrations,ares_task_queue")
        let again = try await PostgresDatabase.withDatabase(settings: try database.settings(), logger: .quiet, migrate: false) { postgres in
            try await PostgresMigrator().migrate(client: postgres.client, logger: .quiet)
        }
        #expect(again.isEmpty)
    }

    @Test func replicasMigratingTogetherApplyEachMigrationExactlyOnce() async throws {
        let database = try await PostgresTestDatabase.make()
        // Migrations that would fail or double a row if applied twice, each slow enough that
        // the replicas overlap.
        // Numbered after ares's own migrations, however many there are.
        let first = PostgresMigrations.all.count + 1, second = first + 1
        let migrations = try PostgresMigrator(migrations: PostgresMigrations.all + [
            PostgresMigration(version: first, name: "counter", statements: [
                "CREATE TABLE test_applied (migration integer NOT NULL)", "SELECT pg_sleep(0.2)", "INSERT INTO test_applied VALUES (\(first))"]),
            PostgresMigration(version: second, name: "second", statements: ["SELECT pg_sleep(0.2)", "INSERT INTO test_applied VALUES (\(second))"]),
        ])
        let settings = try database.settings()
        let appliedByEach = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await PostgresDatabase.withDatabase(settings: settings, logger: .quiet, prepare: false) { postgres in
                        try await migrations.migrate(client: postgres.client, logger: .quiet).map(\.version)
                    }
                }
            }
            return try await group.reduce(into: [Int]()) { $0 += $1 }
        }
        #expect(appliedByEach.sorted() == Array(1...second), "each migration applied by exactly one of the four")
        await #expect(try database.superuserSQL("SELECT string_agg(migration::text, ',' ORDER BY migration) FROM test_applied") == "\(first),\(second)")
        await #expect(try database.superuserSQL("SELECT string_agg(version::text, ',' ORDER BY version) FROM ares_schema_migrations")
            == (1...second).map(String.init).joined(separator: ","))
    }

    @Test func aFailingMigrationLeavesNoTraceAndStopsTheStart() async throws {
        let database = try await PostgresTestDatabase.make()
        let migrations = try PostgresMigrator(migrations: PostgresMigrations.all + [
            PostgresMigration(version: PostgresMigrations.all.count + 1, name: "broken",
                              statements: ["CREATE TABLE test_half (x integer)", "SELECT no_such_function()"]),
        ])
        await #expect {
            try await PostgresDatabase.withDatabase(settings: try database.settings(), logger: .quiet, prepare: false) { postgres in
                try await postgres.prepare(migrator: migrations)
            }
        } throws: { error in
            "\(error)".contains("42883") && "\(error)".contains("no_such_function")
        }
        await #expect(try database.superuserSQL("SELECT to_regclass('test_half') IS NULL") == "t", "the half-applied migration was rolled back")
        await #expect(try database.superuserSQL("SELECT string_agg(version::text, ',' ORDER BY version) FROM ares_schema_migrations")
            == (1...PostgresMigrations.all.count).map(String.init).joined(separator: ","))
    }

    @Test func aSchemaNewerThanThisBinaryIsRefused() async throws {
        let database = try await PostgresTestDatabase.make()
        try await database.withStore { _, _ in }
        try await database.superuserSQL("INSERT INTO ares_schema_migrations (version, name) VALUES (7, 'from the future')")
        await #expect {
            try await database.withStore { _, _ in }
        } throws: { error in
            (error as? PostgresStorageError)?.kind == .schemaTooNew
                && "\(error)" == "database schema is at version 7, this ares knows up to \(PostgresMigrations.all.count): upgrade ares"
        }
        // Nothing was applied or changed by the refused start.
        await #expect(try database.superuserSQL("SELECT count(*) FROM ares_schema_migrations") == "\(PostgresMigrations.all.count + 1)")
    }

    @Test func migrationsMustBeNumberedInOrder() {
        #expect(throws: PostgresStorageError.self) {
            try PostgresMigrator(migrations: [PostgresMigration(version: 2, name: "gap", statements: [])])
        }
    }
}
