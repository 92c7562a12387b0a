import Foundation
import Logging
import PostgresNIO

/// Loads a snapshot made by `PostgresTableSnapshot` into a database whose schema is at the
/// snapshot's version and holds no ares data (`ares restore --database`).
///
/// Everything happens in one transaction, so a restore is applied whole or not at all: it
/// locks every ares table (`ACCESS EXCLUSIVE`: no replica reads or writes a half-restored
/// database, and a second restore waits), checks that they hold no data (checked under the
/// lock, so nothing can slip in between check and load), removes what migrations seeded,
/// inserts the rows in foreign-key order (`OVERRIDING SYSTEM VALUE` keeps identity values, so
/// events keep their global positions), and moves every sequence to where it stood.
public enum PostgresTableRestore {
    /// The rows of one table, a batch at a time: each batch a JSON array of row objects.
    public protocol RowSource {
        mutating func nextBatch() throws -> String?
    }

    /// Rows a migration inserts by itself: a table holding just these counts as empty.
    /// (`ares_knowledge_state`'s one row at generation 0, from the knowledge base migration.)
    static let seededRows: [String: String] = ["ares_knowledge_state": "generation <> 0"]

    public struct Summary: Sendable {
        public var tables: Int
        public var rows: Int
    }

    public static func restore(settings: DatabaseSettings, logger: Logger, tables: [PostgresTableSnapshot.Table],
                               sequences: [PostgresTableSnapshot.SequenceState],
                               rows openRows: (PostgresTableSnapshot.Table) throws -> any RowSource) async throws -> Summary {
        for table in tables {
            guard PostgresTableSnapshot.isPlainIdentifier(table.name), table.columns.allSatisfy(PostgresTableSnapshot.isPlainIdentifier) else {
                throw PostgresStorageError(.server, "the backup names a table or column that is not a plain identifier: '\(table.name.prefix(80))'")
            }
        }
        for sequence in sequences where !PostgresTableSnapshot.isPlainIdentifier(sequence.name) {
            throw PostgresStorageError(.server, "the backup names a sequence that is not a plain identifier: '\(sequence.name.prefix(80))'")
        }
        // A connection of its own: the transaction holds it for the whole load, and a failed
        // load leaves nothing behind.
        return try await PostgresDedicatedTransaction.run(settings: settings, logger: logger, begin: "BEGIN", ending: .commit) { connection in
            try await load(on: connection, logger: logger, tables: tables, sequences: sequences, rows: openRows)
        }
    }

    private static func load(on connection: PostgresConnection, logger: Logger, tables: [PostgresTableSnapshot.Table],
                             sequences: [PostgresTableSnapshot.SequenceState],
                             rows openRows: (PostgresTableSnapshot.Table) throws -> any RowSource) async throws -> Summary {
        let present = try await PostgresTableSnapshot.catalogTables(on: connection, logger: logger)
        let presentByName = Dictionary(present.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for table in tables {
            guard let target = presentByName[table.name] else {
                throw PostgresStorageError(.server, "the database has no table \(table.name), which the backup holds: is its schema at the backup's version?")
            }
            let missing = table.columns.filter { !target.columns.contains($0) }
            guard missing.isEmpty else {
                throw PostgresStorageError(.server, "the database's table \(table.name) has no column \(missing.joined(separator: ", ")), which the backup holds")
            }
        }
        let all = present.map(\.name)
        if !all.isEmpty {
            try await connection.query(PostgresQuery(unsafeSQL: "LOCK TABLE \(all.map(PostgresTableSnapshot.quoted).joined(separator: ", ")) IN ACCESS EXCLUSIVE MODE"),
                                       logger: logger)
        }
        var holding: [String] = []
        for name in all {
            let condition = seededRows[name].map { " WHERE \($0)" } ?? ""
            let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT EXISTS (SELECT 1 FROM \(PostgresTableSnapshot.quoted(name))\(condition))"),
                                                  logger: logger)
            for try await exists in rows.decode(Bool.self) where exists { holding.append(name) }
        }
        guard holding.isEmpty else {
            throw PostgresStorageError(.server, "the database already holds ares data (in \(holding.joined(separator: ", "))): "
                                       + "restore into a new, empty database (nothing is ever overwritten)")
        }
        let ordered = try await foreignKeyOrder(tables.map(\.name), on: connection, logger: logger)
        for name in ordered.reversed() where seededRows[name] != nil {
            try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(PostgresTableSnapshot.quoted(name))"), logger: logger)
        }
        let byName = Dictionary(tables.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var count = 0
        for name in ordered {
            guard let table = byName[name] else { continue }
            let columns = table.columns.map(PostgresTableSnapshot.quoted).joined(separator: ", ")
            let insert = "INSERT INTO \(PostgresTableSnapshot.quoted(name)) (\(columns)) OVERRIDING SYSTEM VALUE "
                + "SELECT \(columns) FROM json_populate_recordset(NULL::\(PostgresTableSnapshot.quoted(name)), $1::json)"
            var source = try openRows(table)
            while let batch = try source.nextBatch() {
                var bindings = PostgresBindings()
                bindings.append(batch)
                let result = try await connection.query(PostgresQuery(unsafeSQL: insert, binds: bindings), logger: logger)
                for try await _ in result {}
            }
            let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*)::bigint FROM \(PostgresTableSnapshot.quoted(name))"), logger: logger)
            for try await inserted in rows.decode(Int64.self) { count += Int(clamping: inserted) }
        }
        for sequence in sequences {
            guard let value = sequence.lastValue else { continue }
            let rows = try await connection.query(
                "SELECT setval(to_regclass(quote_ident(current_schema()) || '.' || quote_ident(\(sequence.name))), \(value), true)", logger: logger)
            for try await _ in rows {}
        }
        return Summary(tables: tables.count, rows: count)
    }

    /// `names` ordered so that a table comes after every table it references (documents before
    /// passages); cycles, which ares's schema has none of, keep their alphabetical order.
    static func foreignKeyOrder(_ names: [String], on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let rows = try await connection.query("""
            SELECT child.relname::text, parent.relname::text FROM pg_constraint k
            JOIN pg_class child ON child.oid = k.conrelid JOIN pg_class parent ON parent.oid = k.confrelid
            JOIN pg_namespace n ON n.oid = child.relnamespace
            WHERE k.contype = 'f' AND n.nspname = current_schema()
            """, logger: logger)
        var parents: [String: Set<String>] = [:]
        for try await (child, parent) in rows.decode((String, String).self) where child != parent {
            parents[child, default: []].insert(parent)
        }
        var ordered: [String] = []
        var placed = Set<String>()
        var remaining = names.sorted()
        while !remaining.isEmpty {
            let ready = remaining.filter { parents[$0, default: []].subtracting(placed).intersection(Set(names)).isEmpty }
            let next = ready.isEmpty ? remaining : ready
            ordered += next
            placed.formUnion(next)
            remaining.removeAll { placed.contains($0) }
        }
        return ordered
    }
}
