extension PostgresMigrations {
    /// Retention on the shared database (`PostgresEventStore.prune`): what is left of each
    /// removed stream, as SQLite's `prunedStream` table keeps it. The checkpoint (version and
    /// head hash) and the summary's SHA-256 are also recorded in the hash-chained
    /// `ares-retention` stream, which is what `verify` checks these rows against.
    ///
    /// Only adds a table: replicas of the previous release keep running beside it during a
    /// rolling upgrade (they never prune, and answer a pruned task as unknown).
    static let retention = PostgresMigration(version: 5, name: "retention", statements: [
        """
        CREATE TABLE ares_pruned_streams (
            stream text COLLATE "C" PRIMARY KEY,
            version bigint NOT NULL,
            last_hash text NOT NULL,
            summary bytea NOT NULL,
            pruned_at bigint NOT NULL
        )
        """,
    ])
}
