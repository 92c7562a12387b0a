import Foundation
import Logging
import PostgresNIO

/// A consistent copy of ares's tables, read in one `REPEATABLE READ READ ONLY` transaction
/// (`ares backup --database`). Every table is read from the same snapshot, so the copy holds
/// exactly the transactions that had committed when it began: events and their streams' heads
/// agree, a document and its passages arrive together, whatever replicas write meanwhile (they
/// are not blocked: a reader takes no locks a writer waits for).
///
/// The tables are found in the catalog (every `ares_` table of the current schema but the
/// migrations' own), so tables that later migrations add are copied without a change here.
/// Each row arrives as the JSON text of `row_to_json`, the form `json_populate_recordset`
/// turns back into a row (`PostgresTableRestore`): exact for every type ares uses (bytea as
/// hex, bigint as integers, double precision in its shortest exact form, timestamptz in
/// ISO 8601 with its offset, arrays as arrays).
///
/// Two kinds of column are left out: `xid8` columns (the inserting transaction's id, which
/// means nothing in another cluster and would hide restored rows from a change feed that
/// reads only rows older than every running transaction; a restore lets their default give
/// them the restoring transaction's id) and generated columns (computed again on insert).
public enum PostgresTableSnapshot {
    public struct Table: Sendable, Equatable, Codable {
        public var name: String
        /// The columns copied, in table order.
        public var columns: [String]
        /// The columns left out (see the type's comment), for the record.
        public var omittedColumns: [String]
        /// The columns the rows are written in order of, so two backups of the same data are
        /// byte for byte the same: the primary key, or for the events `chainOrder`.
        public var orderedBy: [String]

        public init(name: String, columns: [String], omittedColumns: [String], orderedBy: [String]) {
            self.name = name
            self.columns = columns
            self.omittedColumns = omittedColumns
            self.orderedBy = orderedBy
        }
    }

    /// A sequence's position (`pg_sequences.last_value`; nil: never used). Read after the
    /// snapshot began, so it is at least every value the copied rows hold (sequences are not
    /// transactional): a restore that sets it hands out no value twice.
    public struct SequenceState: Sendable, Equatable, Codable {
        public var name: String
        public var lastValue: Int64?

        public init(name: String, lastValue: Int64?) {
            self.name = name
            self.lastValue = lastValue
        }
    }

    /// What a snapshot found besides the rows.
    public struct Summary: Sendable {
        public var schemaVersion: Int
        public var serverVersion: String
        public var tables: [Table]
        public var sequences: [SequenceState]
    }

    /// Receives the snapshot, table after table: `begin`, every row (one JSON object's text),
    /// `end`. Called on the caller's task, one call at a time.
    public protocol Sink {
        mutating func begin(_ table: Table) throws
        mutating func write(row: String) throws
        mutating func end(_ table: Table) throws
    }

    /// Tables written in another order than their primary key's: events by stream and version,
    /// so a backup's chains are checked in one pass over the file, one stream after another.
    static let chainOrder: [String: [String]] = ["ares_events": ["stream", "version"]]

    /// The table of applied migrations: its content is the schema version, which a restore
    /// recreates by migrating, never copied as data.
    static let migrationsTable = PostgresMigrator.table

    /// An identifier ares can put into SQL (quoted as well): what its own migrations create.
    /// Names from a backup's manifest are input, and are checked against this first.
    public static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, (1...63).contains(name.utf8.count), first == UInt8(ascii: "_") || (first >= 97 && first <= 122) else {
            return false
        }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) }
    }

    static func quoted(_ identifier: String) -> String { "\"\(identifier)\"" }

    /// Reads every ares table in one read-only snapshot into `sink`, on a connection of its own
    /// (held for the whole copy, which a pooled connection should not be).
    public static func take<S: Sink>(settings: DatabaseSettings, logger: Logger, into sink: inout S) async throws -> Summary {
        // Read only: nothing to keep.
        try await PostgresDedicatedTransaction.run(settings: settings, logger: logger, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                                                   ending: .rollback) { connection in
            // The output forms the restore reads back, whatever the server's defaults.
            try await connection.query("SET LOCAL bytea_output = 'hex'", logger: logger)
            try await connection.query("SET LOCAL TimeZone = 'UTC'", logger: logger)
            try await connection.query("SET LOCAL extra_float_digits = 1", logger: logger)
            return try await read(on: connection, logger: logger, into: &sink)
        }
    }

    private static func read<S: Sink>(on connection: PostgresConnection, logger: Logger, into sink: inout S) async throws -> Summary {
        // The first statement fixes the snapshot: the schema version belongs to the same moment as the rows.
        var schemaVersion = 0
        let hasMigrations = try await connection.query(
            "SELECT to_regclass(quote_ident(current_schema()) || '.' || \(migrationsTable)) IS NOT NULL", logger: logger)
        for try await exists in hasMigrations.decode(Bool.self) where exists {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT coalesce(max(version), 0)::bigint FROM \(migrationsTable)"), logger: logger)
            for try await version in rows.decode(Int64.self) { schemaVersion = Int(clamping: version) }
        }
        var serverVersion = ""
        for try await version in try await connection.query("SELECT current_setting('server_version')", logger: logger).decode(String.self) {
            serverVersion = version
        }
        let tables = try await catalogTables(on: connection, logger: logger)
        for table in tables {
            try sink.begin(table)
            let columns = table.columns.map(quoted).joined(separator: ", ")
            let order = table.orderedBy.isEmpty ? "" : " ORDER BY " + table.orderedBy.map { "t.\(quoted($0))" }.joined(separator: ", ")
            let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT row_to_json(t)::text FROM (SELECT \(columns) FROM \(quoted(table.name))) AS t\(order)
                """), logger: logger)
            for try await row in rows.decode(String.self) { try sink.write(row: row) }
            try sink.end(table)
        }
        var sequences: [SequenceState] = []
        let sequenceRows = try await connection.query("""
            SELECT sequencename::text, last_value FROM pg_sequences
            WHERE schemaname = current_schema() AND starts_with(sequencename::text, 'ares_') ORDER BY sequencename
            """, logger: logger)
        for try await (name, lastValue) in sequenceRows.decode((String, Int64?).self) {
            sequences.append(SequenceState(name: name, lastValue: lastValue))
        }
        return Summary(schemaVersion: schemaVersion, serverVersion: serverVersion, tables: tables, sequences: sequences)
    }

    /// Every `ares_` table of the current schema but the migrations', with its columns and primary key.
    static func catalogTables(on connection: PostgresConnection, logger: Logger) async throws -> [Table] {
        let rows = try await connection.query("""
            SELECT c.oid::bigint, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND starts_with(c.relname::text, 'ares_')
              AND c.relname <> \(migrationsTable)
            ORDER BY c.relname
            """, logger: logger)
        var found: [(oid: Int64, name: String)] = []
        for try await (oid, name) in rows.decode((Int64, String).self) { found.append((oid, name)) }
        var tables: [Table] = []
        for (oid, name) in found {
            var columns: [String] = []
            var omitted: [String] = []
            let columnRows = try await connection.query("""
                SELECT a.attname::text, a.atttypid = 'xid8'::regtype OR a.attgenerated <> '' FROM pg_attribute a
                WHERE a.attrelid = \(oid)::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
                """, logger: logger)
            for try await (column, isOmitted) in columnRows.decode((String, Bool).self) {
                if isOmitted { omitted.append(column) } else { columns.append(column) }
            }
            var orderedBy: [String] = []
            let keyRows = try await connection.query("""
                SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                WHERE i.indrelid = \(oid)::oid AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)
                """, logger: logger)
            for try await column in keyRows.decode(String.self) { orderedBy.append(column) }
            if let order = chainOrder[name], order.allSatisfy(columns.contains) { orderedBy = order }
            tables.append(Table(name: name, columns: columns, omittedColumns: omitted, orderedBy: orderedBy))
        }
        return tables
    }
}
