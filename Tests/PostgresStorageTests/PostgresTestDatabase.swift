import AresTestSupport
import Foundation
import Logging
import PostgresStorage

/// A fresh database on the test process's shared cluster (TestPostgresCluster.shared), and
/// the settings to reach it as the `ares` role: each test works in a database of its own.
struct PostgresTestDatabase {
    let cluster: TestPostgresCluster
    let name: String

    static func make(_ prefix: String = "t") async throws -> PostgresTestDatabase {
        let cluster = try await TestPostgresCluster.shared()
        return await PostgresTestDatabase(cluster: cluster, name: try cluster.createDatabase(prefix: prefix))
    }

    var url: String { cluster.url(database: name) }

    func settings(startupTimeout: Duration = .seconds(10)) throws -> DatabaseSettings {
        var settings = try DatabaseSettings(url: url, environment: [DatabaseSettings.passwordFileVariable: cluster.passwordFile.path])
        settings.startupTimeout = startupTimeout
        // A minute, not the default 10 s: in the main run on two cores a test can wait that long
        // for a thread between two of its steps (an append waiting for a lock the test holds, say),
        // and these tests are about order and content, not deadlines. The deadline tests set their own.
        settings.requestTimeout = .seconds(60)
        return settings
    }

    /// Runs `body` with a prepared (migrated) database and an event store on it.
    func withStore<Result: Sendable>(_ body: (PostgresEventStore, PostgresDatabase) async throws -> Result) async throws -> Result {
        try await PostgresDatabase.withDatabase(settings: try settings(), logger: .quiet) { database in
            try await body(PostgresEventStore(database: database), database)
        }
    }

    /// SQL as the superuser in this database (tampering, inspecting).
    @discardableResult
    func superuserSQL(_ sql: String) throws -> String {
        try cluster.superuserSQL(sql, database: name).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The same from an async function (which the compiler picks there): psql on a thread of its own.
    @discardableResult
    func superuserSQL(_ sql: String) async throws -> String {
        try await cluster.superuserSQL(sql, database: name).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// How many rows of `table` sequential scans have read so far (-1 if unknown). Read after a
    /// pause: a backend reports its counters once it has been idle a moment.
    func sequentialRowsRead(of table: String) async throws -> Int {
        try await Task.sleep(for: .seconds(2.5))
        return await Int(try superuserSQL("SELECT seq_tup_read FROM pg_stat_user_tables WHERE relname = '\(table)'")) ?? -1
    }
}

extension Logger {
    /// Tests assert on errors, not on log lines.
    static let quiet = Logger(label: "ares.tests.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
}
