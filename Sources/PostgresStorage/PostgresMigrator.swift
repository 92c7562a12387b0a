import Foundation
import Logging
import PostgresNIO

/// Applies `PostgresMigrations` to a database and reports where its schema stands.
///
/// Replicas that start together must not race: each migration runs in its own transaction
/// that first takes a transaction-level advisory lock (`pg_advisory_xact_lock`), then reads
/// which migrations are applied, then applies the next one and records it in
/// `ares_schema_migrations`. A second replica waits for the lock, sees the migration recorded
/// and skips it, so each migration is applied exactly once. The lock is released by COMMIT or
/// ROLLBACK, also when a connection dies, so it is never left behind.
public struct PostgresMigrator: Sendable {
    /// The advisory lock's key: "ares" in ASCII and a 1, a number no other application is
    /// likely to pick for its own lock.
    public static let lockKey: Int64 = 0x6172_6573_0000_0001
    public static let table = "ares_schema_migrations"

    public let migrations: [PostgresMigration]

    /// `migrations` must be numbered 1, 2, 3, ... in order (checked: a gap would make a
    /// database's version ambiguous).
    public init(migrations: [PostgresMigration] = PostgresMigrations.all) throws(PostgresStorageError) {
        for (index, migration) in migrations.enumerated() where migration.version != index + 1 {
            throw PostgresStorageError(.server, "migration '\(migration.name)' has version \(migration.version), expected \(index + 1)")
        }
        self.migrations = migrations
    }

    public var knownVersion: Int { migrations.last?.version ?? 0 }

    /// Where a database's schema stands.
    public struct Status: Sendable, Equatable {
        public struct Applied: Sendable, Equatable {
            public var version: Int
            public var name: String
            public var appliedAt: Date
        }

        public var applied: [Applied]
        public var pending: [PostgresMigration]
        /// The newest version this binary knows.
        public var knownVersion: Int
        /// The database's version: its newest applied migration (0: none).
        public var version: Int { applied.map(\.version).max() ?? 0 }
        public var isNewerThanKnown: Bool { version > knownVersion }
    }

    public func status(client: PostgresClient, logger: Logger) async throws -> Status {
        try await client.withConnection { connection in
            try await self.status(on: connection, logger: logger)
        }
    }

    /// Applies every pending migration; returns those this call applied (others may have been
    /// applied meanwhile by another replica). Refuses a schema newer than this binary knows.
    @discardableResult
    public func migrate(client: PostgresClient, logger: Logger) async throws -> [PostgresMigration] {
        try await client.withConnection { connection in
            var appliedNow: [PostgresMigration] = []
            while true {
                let next: PostgresMigration? = try await PostgresTransaction.run(on: connection, logger: logger) { connection in
                    try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
                    try await connection.query(PostgresQuery(unsafeSQL: """
                        CREATE TABLE IF NOT EXISTS \(Self.table) (
                            version integer PRIMARY KEY,
                            name text NOT NULL,
                            applied_at timestamptz NOT NULL DEFAULT now()
                        )
                        """), logger: logger)
                    let status = try await self.status(on: connection, logger: logger)
                    try Self.refuseNewer(status)
                    guard let migration = status.pending.first else { return nil }
                    for statement in migration.statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO ares_schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                    logger.info("applied database migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                    return migration
                }
                guard let next else { return appliedNow }
                appliedNow.append(next)
            }
        }
    }

    /// The refusal of a schema this binary does not know, naming both versions.
    public static func refuseNewer(_ status: Status) throws(PostgresStorageError) {
        if status.isNewerThanKnown {
            throw PostgresStorageError(.schemaTooNew, "database schema is at version \(status.version), this ares knows up to "
                + "\(status.knownVersion): upgrade ares")
        }
    }

    private func status(on connection: PostgresConnection, logger: Logger) async throws -> Status {
        var exists = false
        for try await present in try await connection.query("SELECT to_regclass('ares_schema_migrations') IS NOT NULL", logger: logger)
            .decode(Bool.self) {
            exists = present
        }
        var applied: [Status.Applied] = []
        if exists {
            let rows = try await connection.query("SELECT version, name, applied_at FROM ares_schema_migrations ORDER BY version", logger: logger)
            for try await (version, name, appliedAt) in rows.decode((Int32, String, Date).self) {
                applied.append(.init(version: Int(version), name: name, appliedAt: appliedAt))
            }
        }
        let done = Set(applied.map(\.version))
        return Status(applied: applied, pending: migrations.filter { !done.contains($0.version) }, knownVersion: knownVersion)
    }
}
