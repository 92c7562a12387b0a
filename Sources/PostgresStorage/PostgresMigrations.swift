/// One versioned change of ares's PostgreSQL schema. Applied once, in order, each in its own
/// transaction (PostgreSQL's DDL is transactional: a migration is applied whole or not at all).
public struct PostgresMigration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var statements: [String]

    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// Every migration of ares's schema, in order: the one place the schema is written down.
/// Append new migrations at the end with the next version; never edit an applied one (a
/// database that has it would not get the edit).
///
/// Tables carry an `ares_` prefix, so ares can share a database (and its `public` schema) with
/// other applications. The layout leaves room for what issue 16 adds next: the work queue
/// (claims with leases, `FOR UPDATE SKIP LOCKED`), the knowledge base, keys and push configs.
public enum PostgresMigrations {
    public static let all: [PostgresMigration] = [eventStore]

    /// The task event store: the same streams, versions and hash chains as `SQLiteEventStore`.
    ///
    /// - `ares_events.position`: the global position, for change feeds. Identity values are
    ///   handed out when a row is inserted, not when it commits, so a feed must not take
    ///   "position > last seen" alone as complete: `transaction_id` (the inserting transaction)
    ///   lets a feed read only rows older than every transaction still running
    ///   (`transaction_id < pg_snapshot_xmin(pg_current_snapshot())`), the usual fix.
    /// - `ares_event_streams`: one row per stream, its version and last hash: an append locks it
    ///   (`FOR UPDATE`), so appends to one stream are serialized and the version check cannot race.
    /// - `recorded_at`: microseconds since 1970, an integer, because the hash covers it exactly.
    /// - `COLLATE "C"` on stream names: byte order, as in SQLite, and prefix searches by index.
    static let eventStore = PostgresMigration(version: 1, name: "event store", statements: [
        """
        CREATE TABLE ares_event_streams (
            stream text COLLATE "C" PRIMARY KEY,
            version bigint NOT NULL CHECK (version >= 0),
            last_hash text NOT NULL,
            last_type text NOT NULL,
            last_recorded_at bigint NOT NULL
        )
        """,
        """
        CREATE TABLE ares_events (
            position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            stream text COLLATE "C" NOT NULL,
            version bigint NOT NULL,
            type text NOT NULL,
            payload bytea NOT NULL,
            recorded_at bigint NOT NULL,
            hash text NOT NULL,
            previous_hash text NOT NULL,
            transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
            UNIQUE (stream, version)
        )
        """,
    ])
}
