import AresTestSupport
import Foundation
import Testing

/// `ares db status` and `ares db migrate` as a user runs them, against a real PostgreSQL
/// (a throwaway cluster shared by the test process, a database of this test's own).
@Suite struct DatabaseCommandTests {
    @Test func statusShowsPendingMigrationsAndMigrateAppliesThem() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let database = try await cluster.createDatabase(prefix: "cli")
        let environment = cluster.environment(database: database)

        let before = try await AresProcess.run(["db", "status"], environment: environment)
        #expect(before.status == 2, "pending migrations: exit status 2\n\(before.stderr)")
        #expect(before.stdout.contains("schema version: 0"))
        #expect(before.stdout.contains("pending (apply with `ares db migrate`):\n  1  event store\n  2  work queue"))
        #expect(before.stdout.contains("password: from the file \(cluster.passwordFile.path)"))

        let migrate = try await AresProcess.run(["db", "migrate"], environment: environment)
        #expect(migrate.status == 0, "\(migrate.stderr)")
        #expect(migrate.stdout.contains("applied 5 migrations: 1 event store, 2 work queue, 3 api keys, 4 knowledge base, 5 retention; schema version 5"))
        let again = try await AresProcess.run(["db", "migrate", "--database", cluster.url(database: database)],
                                        environment: ["ARES_DATABASE_PASSWORD_FILE": cluster.passwordFile.path])
        #expect(again.stdout.contains("schema is up to date at version 5"))

        let after = try await AresProcess.run(["db", "status", "--format", "json"], environment: environment)
        #expect(after.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [String: Any]
        #expect(json?["version"] as? Int == 5)
        #expect((json?["pending"] as? [Any])?.isEmpty == true)
        #expect((json?["applied"] as? [[String: Any]])?.first?["name"] as? String == "event store")
        for output in [before, migrate, again, after] {
            #expect(!output.stdout.contains(cluster.password) && !output.stderr.contains(cluster.password))
        }

        // Chains on PostgreSQL: intact while empty, a forged event found.
        let empty = try await AresProcess.run(["db", "verify"], environment: environment)
        #expect(empty.status == 0, "\(empty.stderr)")
        #expect(empty.stdout.contains("ok: 0 streams, 0 events, every hash chain intact"))
        try await cluster.superuserSQL("""
            INSERT INTO ares_events (stream, version, type, payload, recorded_at, hash, previous_hash)
            VALUES ('task-x', 1, 'Forged', '\\x7b7d', 0, 'not-a-hash', '\(String(repeating: "0", count: 64))')
            """, database: database)
        let forged = try await AresProcess.run(["db", "verify"], environment: environment)
        #expect(forged.status == 1)
        #expect(forged.stderr.contains("chain break: task-x v1: its content does not match its hash"), "\(forged.stderr)")

        // A schema from a newer ares: status says so, migrate refuses.
        try await cluster.superuserSQL("INSERT INTO ares_schema_migrations (version, name) VALUES (6, 'future')", database: database)
        let newer = try await AresProcess.run(["db", "migrate"], environment: environment)
        #expect(newer.status == 1)
        #expect(newer.stderr.contains("database schema is at version 6, this ares knows up to 5: upgrade ares"))
        let newerStatus = try await AresProcess.run(["db", "status"], environment: environment)
        #expect(newerStatus.status == 1)
        #expect(newerStatus.stdout.contains("schema version: 6 (this ares knows up to 5)"))
    }

    @Test func problemsAreOneLineWithoutThePassword() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let wrongFile = FileManager.default.temporaryDirectory.appendingPathComponent("ares-pw-\(UUID().uuidString)")
        let wrong = "wrong-\(UUID().uuidString)"
        TestRunRecord.registerSecret(wrong)
        try Data(wrong.utf8).write(to: wrongFile)
        defer { try? FileManager.default.removeItem(at: wrongFile) }

        let cases: [(arguments: [String], environment: [String: String], status: Int32, message: String)] = [
            (["db", "status"], ["ARES_DATABASE_URL": ""], 64, "no database: pass --database"),
            (["db", "status", "--database", "postgres://ares:\(wrong)@127.0.0.1:\(cluster.port)/ares?sslmode=disable"], [:], 64,
             "the database URL carries a password"),
            (["db", "status", "--database", cluster.url()], ["ARES_DATABASE_PASSWORD_FILE": wrongFile.path], 1,
             "refused the password of user 'ares'"),
            (["db", "status", "--database", cluster.url(database: "missing_db")], ["ARES_DATABASE_PASSWORD_FILE": cluster.passwordFile.path], 1,
             "the database 'missing_db' does not exist"),
        ]
        for (arguments, environment, status, message) in cases {
            var environment = environment
            environment["ARES_DATABASE_PASSWORD"] = environment["ARES_DATABASE_PASSWORD"] ?? ""
            let outcome = try await AresProcess.run(arguments, environment: environment)
            #expect(outcome.status == status, "\(arguments): \(outcome.stderr)")
            #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
            #expect(outcome.stderr.split(separator: "\n").count == 1, "one line: \(outcome.stderr)")
            #expect(!outcome.stderr.contains(wrong) && !outcome.stderr.contains(cluster.password))
        }
    }
}
