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
    public static let all: [PostgresMigration] = [eventStore, workQueue, apiKeys, knowledgeBase, retention]

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

    /// The shared work queue (`PostgresTaskQueue`): one row per runnable task, from its
    /// enqueueing until its run ends. A replica claims a row by setting the lease (holder and
    /// expiry, in the database's clock, so replicas' clocks do not matter) and bumping
    /// `attempts`, which makes every claim distinct: renewals and releases name the attempt
    /// they hold, so a replica whose lease expired and was taken over cannot touch the new
    /// claim. A row whose lease expired is claimable again.
    ///
    /// - `position`: FIFO order (claims take the oldest claimable row); a row given up keeps
    ///   its place, so interrupted tasks go first.
    /// - The CHECK keeps holder and expiry together: a row is waiting or leased, never half.
    static let workQueue = PostgresMigration(version: 2, name: "work queue", statements: [
        """
        CREATE TABLE ares_task_queue (
            task_id text COLLATE "C" PRIMARY KEY,
            owner text,
            position bigint GENERATED ALWAYS AS IDENTITY,
            enqueued_at timestamptz NOT NULL DEFAULT now(),
            lease_holder text,
            lease_expires_at timestamptz,
            attempts bigint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            CHECK ((lease_holder IS NULL) = (lease_expires_at IS NULL))
        )
        """,
        "CREATE INDEX ares_task_queue_order ON ares_task_queue (position)",
    ])

    /// The API keys of every replica (`PostgresAPIKeyStore`): as in `access.sqlite`, the
    /// SHA-256 of each secret, never the secret. `revision` comes from a sequence at every
    /// insert and revocation, so a replica notices any change by the table's count and sum of
    /// revisions (`PostgresAPIKeyStore.signature`) without reading the keys.
    static let apiKeys = PostgresMigration(version: 3, name: "api keys", statements: [
        "CREATE SEQUENCE ares_api_key_revision",
        """
        CREATE TABLE ares_api_keys (
            id text COLLATE "C" PRIMARY KEY,
            name text NOT NULL,
            role text NOT NULL,
            secret_digest bytea NOT NULL CHECK (octet_length(secret_digest) = 32),
            created_at bigint NOT NULL,
            revoked_at bigint,
            revision bigint NOT NULL DEFAULT nextval('ares_api_key_revision')
        )
        """,
    ])
}
