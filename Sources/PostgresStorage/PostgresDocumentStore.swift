import Foundation
import Knowledge
import Logging
import NIOCore
import PostgresNIO
import ResearchCore

/// The knowledge base's documents, passages and vectors on PostgreSQL, shared by every replica
/// (schema: `PostgresMigrations.knowledgeBase`), with the change feed each replica's in-memory
/// indexes follow and the index snapshot a new replica starts from.
///
/// ```swift
/// let store = PostgresDocumentStore(database: database)
/// let knowledge = try await KnowledgeBase(sharedRepository: store, dataDirectory: dir, embedder: embedder, access: .readWrite)
/// // run KnowledgeChangeFollower(knowledge: knowledge, …) in the service group: searches see
/// // what other replicas ingest within its poll interval.
/// ```
///
/// **Guarantees.** A write is one transaction that first locks the single generation row, so
/// writes from every replica are serialized, each committed write is one change with the next
/// position, and positions commit in order (a follower reading "after P" misses nothing).
/// Readers do not take that lock. An acknowledged write is durable (`synchronous_commit = on`
/// on every connection, see `PostgresConnectionConfiguration`).
public final class PostgresDocumentStore: DocumentRepository, DocumentChangeFeed, IndexSnapshotStore {
    /// The channel notified (payload: the new position) when a write commits, for followers
    /// that LISTEN rather than poll.
    public static let notificationChannel = "ares_knowledge"

    private let client: PostgresDatabasePool
    private let settings: DatabaseSettings
    private let logger: Logger

    public init(database: PostgresDatabase) {
        client = database.pool
        settings = database.settings
        logger = database.logger
    }

    /// Runs `body`, turning PostgresNIO's errors into ones that name the problem for a person.
    @discardableResult
    private func describingErrors<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch {
            throw PostgresStorageError.describing(error, settings: settings)
        }
    }

    // MARK: Reading

    public func generation() async throws -> Int64 {
        try await describingErrors {
            let rows = try await client.query("SELECT generation FROM ares_knowledge_state", logger: logger)
            for try await generation in rows.decode(Int64.self) { return generation }
            throw PostgresStorageError(.damaged, "the knowledge base's state row (ares_knowledge_state) is missing: the database was changed outside ares")
        }
    }

    public func metaValue(_ key: String) async throws -> String? {
        try await describingErrors {
            let rows = try await client.query("SELECT value FROM ares_knowledge_meta WHERE key = \(key)", logger: logger)
            for try await value in rows.decode(String.self) { return value }
            return nil
        }
    }

    public func setMetaValue(_ key: String, _ value: String) async throws {
        try await describingErrors {
            try await client.query("""
                INSERT INTO ares_knowledge_meta (key, value) VALUES (\(key), \(value))
                ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
                """, logger: logger)
        }
    }

    public func counts() async throws -> (documents: Int, chunks: Int) {
        try await describingErrors {
            let rows = try await client.query(
                "SELECT (SELECT count(*) FROM ares_documents), (SELECT count(*) FROM ares_passages)", logger: logger)
            for try await (documents, passages) in rows.decode((Int64, Int64).self) {
                return (Int(clamping: documents), Int(clamping: passages))
            }
            return (0, 0)
        }
    }

    public func storedDocuments() async throws -> [String: StoredDocumentInfo] {
        try await describingErrors {
            let rows = try await client.query(
                "SELECT id, source, absolute_path, byte_size, modified_at, content_hash FROM ares_documents", logger: logger)
            var result: [String: StoredDocumentInfo] = [:]
            for try await (id, source, absolutePath, byteSize, modifiedAt, contentHash)
                in rows.decode((Int64, String, String, Int64, Double, String).self) {
                result[source] = StoredDocumentInfo(id: id, source: source, absolutePath: absolutePath, byteSize: byteSize,
                                                    modifiedAt: modifiedAt, contentHash: contentHash)
            }
            return result
        }
    }

    public func forEachChunk(_ body: (StoredChunk) throws -> Void) async throws {
        try await describingErrors {
            // Streamed: PostgresNIO reads rows as they are consumed, so memory stays flat.
            let rows = try await client.query("""
                SELECT p.id, d.title, p.heading_path, p.text, p.embedding
                FROM ares_passages p JOIN ares_documents d ON d.id = p.document_id ORDER BY p.id
                """, logger: logger)
            for try await (id, title, headingPath, text, embedding) in rows.decode((Int64, String, String, String, ByteBuffer).self) {
                try body(StoredChunk(id: id, title: title, headingPath: DocumentStore.decodeHeadingPath(headingPath), text: text,
                                     embedding: Self.decodeEmbedding(embedding)))
            }
        }
    }

    public func chunks(ids: [Int64]) async throws -> [StoredChunk] {
        guard !ids.isEmpty else { return [] }
        return try await describingErrors {
            let rows = try await client.query("""
                SELECT p.id, d.title, p.heading_path, p.text, p.embedding
                FROM ares_passages p JOIN ares_documents d ON d.id = p.document_id WHERE p.id = ANY(\(ids)) ORDER BY p.id
                """, logger: logger)
            var chunks: [StoredChunk] = []
            for try await (id, title, headingPath, text, embedding) in rows.decode((Int64, String, String, String, ByteBuffer).self) {
                chunks.append(StoredChunk(id: id, title: title, headingPath: DocumentStore.decodeHeadingPath(headingPath), text: text,
                                          embedding: Self.decodeEmbedding(embedding)))
            }
            return chunks
        }
    }

    public func passages(forChunkIDs ids: [Int64]) async throws -> [Int64: (passage: Passage, embedding: [Float])] {
        guard !ids.isEmpty else { return [:] }
        return try await describingErrors {
            let rows = try await client.query("""
                SELECT p.id, p.chunk_key, d.source, d.display_source, d.title, p.heading_path, p.text,
                       p.start_offset, p.end_offset, p.page, p.embedding
                FROM ares_passages p JOIN ares_documents d ON d.id = p.document_id WHERE p.id = ANY(\(ids))
                """, logger: logger)
            var result: [Int64: (passage: Passage, embedding: [Float])] = [:]
            for try await (id, key, source, display, title, headings, text, start, end, page, embedding)
                in rows.decode((Int64, String, String, String?, String, String, String, Int64, Int64, Int32?, ByteBuffer).self) {
                result[id] = (try Self.passage(key, source, display, title, headings, text, start, end, page), Self.decodeEmbedding(embedding))
            }
            return result
        }
    }

    public func passageTexts(chunkKeys: [String]) async throws -> [String: String] {
        guard !chunkKeys.isEmpty else { return [:] }
        return try await describingErrors {
            let rows = try await client.query("SELECT chunk_key, text FROM ares_passages WHERE chunk_key = ANY(\(chunkKeys))", logger: logger)
            var result: [String: String] = [:]
            for try await (key, text) in rows.decode((String, String).self) { result[key] = text }
            return result
        }
    }

    public func passages(around chunkKey: String, before: Int, after: Int) async throws -> [Passage] {
        try await describingErrors {
            // Saturating, as in SQLite: the window is clamped, never overflows.
            let before = Int64(clamping: max(0, before)), after = Int64(clamping: max(0, after))
            let rows = try await client.query("""
                WITH anchor AS (SELECT document_id, ordinal FROM ares_passages WHERE chunk_key = \(chunkKey))
                SELECT p.chunk_key, d.source, d.display_source, d.title, p.heading_path, p.text, p.start_offset, p.end_offset, p.page
                FROM anchor a JOIN ares_passages p ON p.document_id = a.document_id
                JOIN ares_documents d ON d.id = p.document_id
                WHERE p.ordinal BETWEEN greatest(a.ordinal::bigint - \(before), -2147483648)
                                    AND least(a.ordinal::bigint + \(after), 2147483647)
                  AND p.ordinal <> a.ordinal
                ORDER BY p.ordinal
                """, logger: logger)
            var result: [Passage] = []
            for try await (key, source, display, title, headings, text, start, end, page)
                in rows.decode((String, String, String?, String, String, String, Int64, Int64, Int32?).self) {
                result.append(try Self.passage(key, source, display, title, headings, text, start, end, page))
            }
            return result
        }
    }

    public func documentSummaries(offset: Int, limit: Int) async throws -> (total: Int, documents: [DocumentSummary]) {
        try await describingErrors {
            var total = 0
            for try await count in try await client.query("SELECT count(*) FROM ares_documents", logger: logger).decode(Int64.self) {
                total = Int(clamping: count)
            }
            let offset = Int64(clamping: max(0, offset)), limit = Int64(clamping: max(0, limit))
            let rows = try await client.query("""
                SELECT d.source, d.display_source, d.title, d.format, d.byte_size, d.ingested_at,
                       (SELECT count(*) FROM ares_passages p WHERE p.document_id = d.id)
                FROM ares_documents d ORDER BY d.source LIMIT \(limit) OFFSET \(offset)
                """, logger: logger)
            var documents: [DocumentSummary] = []
            for try await (source, display, title, format, byteSize, ingestedAt, passages)
                in rows.decode((String, String?, String, String, Int64, Double, Int64).self) {
                documents.append(DocumentSummary(
                    source: display ?? SourceFileCollector.displayName(forStoredSource: source), title: title, format: format,
                    byteSize: byteSize, passages: Int(clamping: passages), ingestedAt: DocumentStore.date(secondsSince1970: ingestedAt)))
            }
            return (total, documents)
        }
    }

    public func sources(matching source: String) async throws -> [String] {
        let folder = source.hasSuffix("/") ? source : source + "/"
        return try await describingErrors {
            // starts_with on the "C"-collated column: no LIKE escaping of % and _ in names.
            let rows = try await client.query("""
                SELECT source FROM ares_documents WHERE source = \(source) OR starts_with(source, \(folder)) ORDER BY source
                """, logger: logger)
            var sources: [String] = []
            for try await source in rows.decode(String.self) { sources.append(source) }
            return sources
        }
    }

    /// The document's stored plain text (what passage offsets index into).
    public func documentText(source: String) async throws -> String? {
        try await describingErrors {
            let rows = try await client.query("SELECT text FROM ares_documents WHERE source = \(source)", logger: logger)
            for try await text in rows.decode(String.self) { return text }
            return nil
        }
    }

    // MARK: Change feed and snapshot

    public func changes(after position: Int64, limit: Int) async throws -> [DocumentChange] {
        try await describingErrors {
            let limit = Int64(clamping: max(1, limit))
            let rows = try await client.query("""
                SELECT position, removed_passage_ids, added_passage_ids, replaced_all_embeddings
                FROM ares_knowledge_changes WHERE position > \(position) ORDER BY position LIMIT \(limit)
                """, logger: logger)
            var changes: [DocumentChange] = []
            for try await (position, removed, added, replacedAll) in rows.decode((Int64, [Int64], [Int64], Bool).self) {
                changes.append(DocumentChange(position: position, removedChunkIDs: removed, addedChunkIDs: added,
                                              replacedAllEmbeddings: replacedAll))
            }
            return changes
        }
    }

    public func readIndexSnapshot() async throws -> [UInt8]? {
        try await describingErrors {
            let rows = try await client.query("SELECT contents FROM ares_knowledge_snapshot", logger: logger)
            for try await contents in rows.decode(ByteBuffer.self) { return Array(contents.readableBytesView) }
            return nil
        }
    }

    public func writeIndexSnapshot(_ bytes: [UInt8], generation: Int64) async throws {
        try await describingErrors {
            // Never replaces a newer snapshot (from a replica that followed further) with an older one.
            try await client.query("""
                INSERT INTO ares_knowledge_snapshot (generation, contents) VALUES (\(generation), \(ByteBuffer(bytes: bytes)))
                ON CONFLICT (singleton) DO UPDATE SET generation = EXCLUDED.generation, contents = EXCLUDED.contents, written_at = now()
                WHERE ares_knowledge_snapshot.generation <= EXCLUDED.generation
                """, logger: logger)
        }
        // The snapshot now covers the older changes: keep the log from growing forever. Best
        // effort: a prune that fails is retried with the next snapshot, the write stands.
        _ = try? await pruneChanges()
    }

    /// How long a change stays in the log once the snapshot covers it: replicas that follow
    /// the feed (every 250 ms) have long applied it by then, so none has to rebuild.
    public static let changeLogRetention = Duration.seconds(600)

    /// Removes from the change log (`ares_knowledge_changes`) the changes the index snapshot
    /// already reflects that were recorded more than `retention` ago; returns how many.
    ///
    /// Why this is safe: a new replica starts from the snapshot and reads only the changes
    /// after it, which are never removed. A running replica still behind a removed change
    /// (stopped for longer than `retention`, say) finds the gap in the positions, which are
    /// consecutive, and rebuilds its indexes from the stored passages
    /// (`KnowledgeBase.applyChanges`): slower, never wrong. The newest change always stays, so
    /// that a replica behind it reads at least that one and sees the gap (an empty log would
    /// look up to date). Without a snapshot nothing goes.
    @discardableResult
    public func pruneChanges(olderThan retention: Duration = PostgresDocumentStore.changeLogRetention) async throws -> Int {
        let seconds = max(0, Double(retention.components.seconds) + Double(retention.components.attoseconds) / 1e18)
        return try await describingErrors {
            let rows = try await client.query("""
                WITH pruned AS (
                    DELETE FROM ares_knowledge_changes
                    WHERE position <= (SELECT generation FROM ares_knowledge_snapshot)
                      AND position < (SELECT generation FROM ares_knowledge_state)
                      AND recorded_at < now() - make_interval(secs => \(seconds))
                    RETURNING 1
                )
                SELECT count(*) FROM pruned
                """, logger: logger)
            var count: Int64 = 0
            for try await pruned in rows.decode(Int64.self) { count = pruned }
            return Int(clamping: count)
        }
    }

    // MARK: Writing

    public func write(
        upserts: [(document: DocumentRecord, chunks: [ChunkRecord])],
        deletions: [String],
        touches: [(source: String, modifiedAt: Double)]
    ) async throws -> DocumentWriteOutcome {
        try Self.refuseNUL(upserts, deletions)
        return try await describingErrors {
            try await client.withConnection { [self] connection in
                try await PostgresTransaction.run(on: connection, logger: logger) { connection in
                    try await write(upserts: upserts, deletions: deletions, touches: touches, on: connection)
                }
            }
        }
    }

    private func write(
        upserts: [(document: DocumentRecord, chunks: [ChunkRecord])], deletions: [String],
        touches: [(source: String, modifiedAt: Double)], on connection: PostgresConnection
    ) async throws -> DocumentWriteOutcome {
        var generation = try await lockGeneration(on: connection)
        var outcome = DocumentWriteOutcome()
        let replaced = deletions + upserts.map(\.document.source)
        if !replaced.isEmpty {
            let rows = try await connection.query("""
                DELETE FROM ares_passages WHERE document_id IN (SELECT id FROM ares_documents WHERE source = ANY(\(replaced))) RETURNING id
                """, logger: logger)
            for try await id in rows.decode(Int64.self) { outcome.removedChunkIDs.append(id) }
            try await connection.query("DELETE FROM ares_documents WHERE source = ANY(\(replaced))", logger: logger)
        }
        outcome.insertedChunkIDs = try await insert(upserts, on: connection)
        for (source, modifiedAt) in touches {
            try await connection.query("UPDATE ares_documents SET modified_at = \(modifiedAt) WHERE source = \(source)", logger: logger)
        }
        if !upserts.isEmpty || !outcome.removedChunkIDs.isEmpty || !deletions.isEmpty {
            generation += 1
            try await recordChange(generation, removed: outcome.removedChunkIDs, added: outcome.insertedChunkIDs.flatMap { $0 },
                                   replacedAll: false, on: connection)
        }
        return outcome
    }

    /// The documents in one statement and all their passages in another (arrays unnested):
    /// two round trips per batch rather than two per document. Returns, per document, the ids
    /// of its passages in ordinal order.
    private func insert(_ upserts: [(document: DocumentRecord, chunks: [ChunkRecord])], on connection: PostgresConnection) async throws -> [[Int64]] {
        guard !upserts.isEmpty else { return [] }
        let documents = upserts.map(\.document)
        let now = Date().timeIntervalSince1970
        let inserted = try await connection.query("""
            INSERT INTO ares_documents (source, display_source, absolute_path, title, format, byte_size, modified_at, content_hash, text, ingested_at)
            SELECT u.source, u.display_source, u.absolute_path, u.title, u.format, u.byte_size, u.modified_at, u.content_hash, u.text, \(now)
            FROM unnest(\(documents.map(\.source))::text[], \(documents.map(\.displaySource))::text[], \(documents.map(\.absolutePath))::text[],
                        \(documents.map(\.title))::text[], \(documents.map(\.format))::text[], \(documents.map(\.byteSize))::bigint[],
                        \(documents.map(\.modifiedAt))::float8[], \(documents.map(\.contentHash))::text[], \(documents.map(\.text))::text[])
                 AS u(source, display_source, absolute_path, title, format, byte_size, modified_at, content_hash, text)
            RETURNING id, source
            """, logger: logger)
        // RETURNING's order is not promised: rows are matched back by their unique keys.
        var documentIDBySource: [String: Int64] = [:]
        for try await (id, source) in inserted.decode((Int64, String).self) { documentIDBySource[source] = id }
        var documentIDs: [Int64] = [], ordinals: [Int64] = [], keys: [String] = [], headings: [String] = []
        var starts: [Int64] = [], ends: [Int64] = [], pages: [Int64] = [], texts: [String] = [], embeddings: [ByteBuffer] = []
        for (document, chunks) in upserts {
            guard let documentID = documentIDBySource[document.source] else {
                throw PostgresStorageError(.server, "inserting document \(document.source) returned no id")
            }
            for chunk in chunks {
                documentIDs.append(documentID)
                ordinals.append(Int64(chunk.ordinal))
                keys.append(chunk.chunkKey)
                headings.append(DocumentStore.encodeHeadingPath(chunk.headingPath))
                starts.append(Int64(chunk.start))
                ends.append(Int64(chunk.end))
                // Arrays of a nullable type are not encodable: no page is sent as 0 (pages count from 1).
                pages.append(Int64(chunk.page ?? 0))
                texts.append(chunk.text)
                embeddings.append(Self.encodeEmbedding(chunk.embedding))
            }
        }
        var idByKey: [String: Int64] = [:]
        if !keys.isEmpty {
            let rows = try await connection.query("""
                INSERT INTO ares_passages (document_id, ordinal, chunk_key, heading_path, start_offset, end_offset, page, text, embedding)
                SELECT u.document_id, u.ordinal, u.chunk_key, u.heading_path, u.start_offset, u.end_offset, NULLIF(u.page, 0), u.text, u.embedding
                FROM unnest(\(documentIDs)::bigint[], \(ordinals)::bigint[], \(keys)::text[], \(headings)::text[], \(starts)::bigint[],
                            \(ends)::bigint[], \(pages)::bigint[], \(texts)::text[], \(embeddings)::bytea[])
                     AS u(document_id, ordinal, chunk_key, heading_path, start_offset, end_offset, page, text, embedding)
                RETURNING id, chunk_key
                """, logger: logger)
            for try await (id, key) in rows.decode((Int64, String).self) { idByKey[key] = id }
        }
        return try upserts.map { upsert in
            try upsert.chunks.map { chunk in
                guard let id = idByKey[chunk.chunkKey] else { throw PostgresStorageError(.server, "inserting passage \(chunk.chunkKey) returned no id") }
                return id
            }
        }
    }

    public func replaceEmbeddings(_ embeddings: [(id: Int64, embedding: [Float])]) async throws {
        try await describingErrors {
            try await client.withConnection { [self] connection in
                try await PostgresTransaction.run(on: connection, logger: logger) { connection in
                    let generation = try await lockGeneration(on: connection) + 1
                    // In slices: one statement's parameters stay a few megabytes.
                    var start = 0
                    while start < embeddings.count {
                        let slice = embeddings[start..<min(embeddings.count, start + 1000)]
                        try await connection.query("""
                            UPDATE ares_passages p SET embedding = u.embedding
                            FROM unnest(\(slice.map(\.id))::bigint[], \(slice.map { Self.encodeEmbedding($0.embedding) })::bytea[]) AS u(id, embedding)
                            WHERE p.id = u.id
                            """, logger: logger)
                        start += 1000
                    }
                    try await recordChange(generation, removed: [], added: [], replacedAll: true, on: connection)
                }
            }
        }
    }

    /// Locks the generation row for the rest of the transaction (serializing writers) and
    /// returns the generation.
    private func lockGeneration(on connection: PostgresConnection) async throws -> Int64 {
        let rows = try await connection.query("SELECT generation FROM ares_knowledge_state FOR UPDATE", logger: logger)
        for try await generation in rows.decode(Int64.self) { return generation }
        throw PostgresStorageError(.damaged, "the knowledge base's state row (ares_knowledge_state) is missing: the database was changed outside ares")
    }

    private func recordChange(_ position: Int64, removed: [Int64], added: [Int64], replacedAll: Bool,
                              on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE ares_knowledge_state SET generation = \(position)", logger: logger)
        try await connection.query("""
            INSERT INTO ares_knowledge_changes (position, removed_passage_ids, added_passage_ids, replaced_all_embeddings)
            VALUES (\(position), \(removed), \(added), \(replacedAll))
            """, logger: logger)
        // Delivered only if the transaction commits.
        try await connection.query("SELECT pg_notify(\(Self.notificationChannel), \(String(position)))", logger: logger)
    }

    // MARK: Encoding

    /// PostgreSQL's text cannot hold NUL: say which document has one rather than let the server fail the batch.
    private static func refuseNUL(_ upserts: [(document: DocumentRecord, chunks: [ChunkRecord])], _ deletions: [String]) throws {
        for (document, chunks) in upserts {
            let fields = [document.source, document.displaySource, document.absolutePath, document.title, document.format, document.text]
                + chunks.flatMap { [$0.chunkKey, $0.text] + $0.headingPath }
            if fields.contains(where: { $0.utf8.contains(0) }) {
                throw PostgresStorageError(.server, "document \(document.source) contains a NUL character, which PostgreSQL text cannot hold")
            }
        }
        if deletions.contains(where: { $0.utf8.contains(0) }) {
            throw PostgresStorageError(.server, "a source to remove contains a NUL character")
        }
    }

    /// The vector as little-endian float32 bytes (the layout of SQLite's `chunk.embedding`).
    static func encodeEmbedding(_ vector: [Float]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(vector.count * 4)
        for value in vector { buffer.writeInteger(value.bitPattern, endianness: .little) }
        return buffer
    }

    /// The vector from its bytes; trailing bytes that are not a whole float are ignored.
    static func decodeEmbedding(_ buffer: ByteBuffer) -> [Float] {
        var buffer = buffer
        var vector: [Float] = []
        vector.reserveCapacity(buffer.readableBytes / 4)
        while let bits = buffer.readInteger(endianness: .little, as: UInt32.self) { vector.append(Float(bitPattern: bits)) }
        return vector
    }

    private static func passage(
        _ key: String, _ source: String, _ display: String?, _ title: String, _ headings: String, _ text: String,
        _ start: Int64, _ end: Int64, _ page: Int32?
    ) throws -> Passage {
        guard let start = Int(exactly: start), let end = Int(exactly: end),
              let passage = StoredPassage.make(chunkKey: key, source: source, displaySource: display, title: title,
                                               headingPath: DocumentStore.decodeHeadingPath(headings), text: text,
                                               start: start, end: end, page: page.map(Int.init))
        else {
            throw PostgresStorageError(.damaged, "passage \(key) has offsets \(start)..<\(end), which no ingest writes: the database was changed outside ares")
        }
        return passage
    }
}
