extension PostgresMigrations {
    /// The knowledge base shared by every replica (`PostgresDocumentStore`): the same documents
    /// and passages as SQLite's `knowledge.sqlite`, and what lets each replica's in-memory
    /// indexes follow writes made by the others.
    ///
    /// - `ares_passages.embedding`: the vector as little-endian float32 bytes, as in SQLite
    ///   (pgvector is not available; ares indexes vectors itself, in memory).
    /// - `ares_knowledge_state`: one row holding the generation. Every write locks it first
    ///   (`FOR UPDATE`), so writes from all replicas are serialized and each change gets the
    ///   next position *in commit order*: a follower that has applied everything up to P can
    ///   read "position > P" and never miss a change that committed later with a smaller number
    ///   (the gap an identity column would leave; see `eventStore`).
    /// - `ares_knowledge_changes`: one row per write: the passage ids it removed and added (or
    ///   that every vector was replaced). `transaction_id` is kept for diagnosis, as in `ares_events`.
    /// - `ares_knowledge_snapshot`: the serialized indexes (the `index.bin` format) at a
    ///   generation, so a new replica loads them and applies only the later changes.
    static let knowledgeBase = PostgresMigration(version: 4, name: "knowledge base", statements: [
        """
        CREATE TABLE ares_documents (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            source text COLLATE "C" NOT NULL UNIQUE,
            display_source text,
            absolute_path text NOT NULL,
            title text NOT NULL,
            format text NOT NULL,
            byte_size bigint NOT NULL,
            modified_at double precision NOT NULL,
            content_hash text NOT NULL,
            text text NOT NULL,
            ingested_at double precision NOT NULL
        )
        """,
        """
        CREATE TABLE ares_passages (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            document_id bigint NOT NULL REFERENCES ares_documents (id) ON DELETE CASCADE,
            ordinal integer NOT NULL,
            chunk_key text COLLATE "C" NOT NULL UNIQUE,
            heading_path text NOT NULL,
            start_offset bigint NOT NULL,
            end_offset bigint NOT NULL,
            page integer,
            text text NOT NULL,
            embedding bytea NOT NULL
        )
        """,
        "CREATE INDEX ares_passages_document ON ares_passages (document_id, ordinal)",
        "CREATE TABLE ares_knowledge_meta (key text PRIMARY KEY, value text NOT NULL)",
        """
        CREATE TABLE ares_knowledge_state (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            generation bigint NOT NULL CHECK (generation >= 0)
        )
        """,
        "INSERT INTO ares_knowledge_state (generation) VALUES (0)",
        """
        CREATE TABLE ares_knowledge_changes (
            position bigint PRIMARY KEY,
            removed_passage_ids bigint[] NOT NULL,
            added_passage_ids bigint[] NOT NULL,
            replaced_all_embeddings boolean NOT NULL DEFAULT false,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id()
        )
        """,
        """
        CREATE TABLE ares_knowledge_snapshot (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            generation bigint NOT NULL,
            contents bytea NOT NULL,
            written_at timestamptz NOT NULL DEFAULT now()
        )
        """,
    ])
}
