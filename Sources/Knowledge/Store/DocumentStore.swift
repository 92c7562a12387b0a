import Foundation
import GRDB
import ResearchCore

/// A document as stored: its identity on disk (for incremental ingest) and its plain text.
public struct DocumentRecord: Sendable {
    public var source: String
    /// The name shown to others (`SourceFile.displaySource`).
    public var displaySource: String
    public var absolutePath: String
    public var title: String
    public var format: String
    public var byteSize: Int64
    public var modifiedAt: Double
    public var contentHash: String
    public var text: String

    public init(source: String, displaySource: String, absolutePath: String, title: String, format: String,
                byteSize: Int64, modifiedAt: Double, contentHash: String, text: String) {
        self.source = source
        self.displaySource = displaySource
        self.absolutePath = absolutePath
        self.title = title
        self.format = format
        self.byteSize = byteSize
        self.modifiedAt = modifiedAt
        self.contentHash = contentHash
        self.text = text
    }
}

/// A chunk as stored, with its embedding.
public struct ChunkRecord: Sendable {
    public var chunkKey: String
    public var ordinal: Int
    public var headingPath: [String]
    public var start: Int
    public var end: Int
    public var text: String
    public var embedding: [Float]
    /// The page the chunk is on (PDF), cited as `source#page=N`; nil for formats without pages.
    public var page: Int? = nil
}

/// What incremental ingest needs to know about a stored document without reading its text.
public struct StoredDocumentInfo: Sendable {
    public var id: Int64
    public var source: String
    public var absolutePath: String
    public var byteSize: Int64
    public var modifiedAt: Double
    public var contentHash: String

    public init(id: Int64, source: String, absolutePath: String, byteSize: Int64, modifiedAt: Double, contentHash: String) {
        self.id = id
        self.source = source
        self.absolutePath = absolutePath
        self.byteSize = byteSize
        self.modifiedAt = modifiedAt
        self.contentHash = contentHash
    }
}

/// A stored chunk with everything the indexes need to rebuild themselves.
public struct StoredChunk: Sendable {
    public var id: Int64
    public var title: String
    public var headingPath: [String]
    public var text: String
    public var embedding: [Float]

    public init(id: Int64, title: String, headingPath: [String], text: String, embedding: [Float]) {
        self.id = id
        self.title = title
        self.headingPath = headingPath
        self.text = text
        self.embedding = embedding
    }
}

/// A row of `knowledge.sqlite` that ingest never writes: the file is damaged or was edited.
public struct DocumentStoreError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ detail: String) { description = "\(KnowledgeBase.databaseFileName) is damaged: \(detail)" }
}

/// Documents and chunks in SQLite (GRDB, WAL): the source of truth of the knowledge base.
/// The in-memory indexes are derived from it and can always be rebuilt from it.
///
/// Every transaction that changes chunks increments `generation`; an index snapshot records
/// the generation it was built at, so a snapshot that does not match is known to be stale.
public final class DocumentStore: DocumentRepository {
    public let path: String
    private let pool: DatabasePool
    /// Separates heading-path components in one column; it never occurs in headings.
    static let headingSeparator = "\u{1F}"

    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(10)
        configuration.label = "ares.documents"
        pool = try DatabasePool(path: path, configuration: configuration)
        if !readOnly {
            try Self.migrator.migrate(pool)
            // FULL on the writer: a committed ingest batch survives power loss, not only a crash
            // (GRDB opens WAL pools with NORMAL).
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-documents-chunks") { db in
            try db.execute(sql: """
                CREATE TABLE document (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    source TEXT NOT NULL UNIQUE,
                    absolutePath TEXT NOT NULL,
                    title TEXT NOT NULL,
                    format TEXT NOT NULL,
                    byteSize INTEGER NOT NULL,
                    modifiedAt DOUBLE NOT NULL,
                    contentHash TEXT NOT NULL,
                    text TEXT NOT NULL,
                    ingestedAt DOUBLE NOT NULL
                );
                CREATE TABLE chunk (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    documentId INTEGER NOT NULL REFERENCES document(id) ON DELETE CASCADE,
                    ordinal INTEGER NOT NULL,
                    chunkKey TEXT NOT NULL UNIQUE,
                    headingPath TEXT NOT NULL,
                    startOffset INTEGER NOT NULL,
                    endOffset INTEGER NOT NULL,
                    text TEXT NOT NULL,
                    embedding BLOB NOT NULL
                );
                CREATE INDEX chunk_documentId ON chunk(documentId);
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                INSERT INTO meta(key, value) VALUES ('generation', '0');
                """)
        }
        // The name a document is shown by to remote clients and in reports; NULL for documents
        // stored before it existed (they are shown by file name until they are ingested again).
        migrator.registerMigration("v2-document-display-source") { db in
            try db.execute(sql: "ALTER TABLE document ADD COLUMN displaySource TEXT")
        }
        // The page a chunk of a PDF is on; NULL for other formats (and chunks stored before it).
        migrator.registerMigration("v3-chunk-page") { db in
            try db.execute(sql: "ALTER TABLE chunk ADD COLUMN page INTEGER")
        }
        return migrator
    }

    // MARK: Reading

    /// The writer connection's `PRAGMA synchronous` (2 is FULL), for durability tests.
    func writerSynchronousLevel() throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    public func generation() throws -> Int64 {
        try pool.read { db in try Self.generation(db) }
    }

    private static func generation(_ db: Database) throws -> Int64 {
        let value = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'generation'")
        return value.flatMap { Int64($0) } ?? 0
    }

    public func metaValue(_ key: String) throws -> String? {
        try pool.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }
    }

    public func setMetaValue(_ key: String, _ value: String) throws {
        try pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", arguments: [key, value])
        }
    }

    public func counts() throws -> (documents: Int, chunks: Int) {
        try pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM document") ?? 0,
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunk") ?? 0)
        }
    }

    public func storedDocuments() throws -> [String: StoredDocumentInfo] {
        try pool.read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT id, source, absolutePath, byteSize, modifiedAt, contentHash FROM document")
            var result: [String: StoredDocumentInfo] = [:]
            while let row = try rows.next() {
                let info = StoredDocumentInfo(
                    id: try row.decode(forColumn: "id"), source: try row.decode(forColumn: "source"),
                    absolutePath: try row.decode(forColumn: "absolutePath"), byteSize: try row.decode(forColumn: "byteSize"),
                    modifiedAt: try row.decode(forColumn: "modifiedAt"), contentHash: try row.decode(forColumn: "contentHash"))
                result[info.source] = info
            }
            return result
        }
    }

    /// Calls `body` with every chunk, in id order, without loading them all at once.
    public func forEachChunk(_ body: (StoredChunk) throws -> Void) throws {
        try pool.read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT chunk.id, document.title, chunk.headingPath, chunk.text, chunk.embedding
                FROM chunk JOIN document ON document.id = chunk.documentId ORDER BY chunk.id
                """)
            while let row = try rows.next() {
                try body(StoredChunk(
                    id: try row.decode(forColumn: "id"), title: try row.decode(forColumn: "title"),
                    headingPath: Self.decodeHeadingPath(try row.decode(forColumn: "headingPath")),
                    text: try row.decode(forColumn: "text"), embedding: Self.decodeEmbedding(try row.decode(forColumn: "embedding"))))
            }
        }
    }

    /// The passages and embeddings of the given chunk ids; ids no longer stored are absent.
    public func passages(forChunkIDs ids: [Int64]) throws -> [Int64: (passage: Passage, embedding: [Float])] {
        guard !ids.isEmpty else { return [:] }
        return try pool.read { db in
            let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ",")
            let rows = try Row.fetchCursor(db, sql: """
                SELECT chunk.id, chunk.chunkKey, document.source, document.displaySource, document.title, chunk.headingPath,
                       chunk.text, chunk.startOffset, chunk.endOffset, chunk.page, chunk.embedding
                FROM chunk JOIN document ON document.id = chunk.documentId
                WHERE chunk.id IN (\(placeholders))
                """, arguments: StatementArguments(ids))
            var result: [Int64: (passage: Passage, embedding: [Float])] = [:]
            while let row = try rows.next() {
                result[try row.decode(forColumn: "id")] = (try Self.passage(row), Self.decodeEmbedding(try row.decode(forColumn: "embedding")))
            }
            return result
        }
    }

    /// The text of each stored passage among `chunkKeys`, by chunk key; keys not stored are absent.
    public func passageTexts(chunkKeys: [String]) throws -> [String: String] {
        guard !chunkKeys.isEmpty else { return [:] }
        return try pool.read { db in
            var result: [String: String] = [:]
            // In slices: SQLite limits the number of bound parameters of one statement.
            for start in stride(from: 0, to: chunkKeys.count, by: 500) {
                let slice = Array(chunkKeys[start..<min(chunkKeys.count, start + 500)])
                let placeholders = Array(repeating: "?", count: slice.count).joined(separator: ",")
                let rows = try Row.fetchCursor(db, sql: "SELECT chunkKey, text FROM chunk WHERE chunkKey IN (\(placeholders))",
                                               arguments: StatementArguments(slice))
                while let row = try rows.next() {
                    result[try row.decode(forColumn: "chunkKey")] = try row.decode(forColumn: "text") as String
                }
            }
            return result
        }
    }

    /// The passages of `chunkKey`'s document from `before` chunks before it to `after` chunks
    /// after it, in document order, without the chunk itself; none when it is not stored.
    public func passages(around chunkKey: String, before: Int, after: Int) throws -> [Passage] {
        try pool.read { db in
            guard let anchor = try Row.fetchOne(db, sql: "SELECT documentId, ordinal FROM chunk WHERE chunkKey = ?", arguments: [chunkKey]) else {
                return []
            }
            let ordinal: Int = try anchor.decode(forColumn: "ordinal")
            let documentID: Int64 = try anchor.decode(forColumn: "documentId")
            // Saturating: a damaged ordinal near Int.min or Int.max must not overflow.
            let (low, lowOverflow) = ordinal.subtractingReportingOverflow(max(0, before))
            let (high, highOverflow) = ordinal.addingReportingOverflow(max(0, after))
            let rows = try Row.fetchCursor(db, sql: """
                SELECT chunk.chunkKey, document.source, document.displaySource, document.title, chunk.headingPath,
                       chunk.text, chunk.startOffset, chunk.endOffset, chunk.page
                FROM chunk JOIN document ON document.id = chunk.documentId
                WHERE chunk.documentId = ? AND chunk.ordinal BETWEEN ? AND ? AND chunk.ordinal != ?
                ORDER BY chunk.ordinal
                """, arguments: [documentID, lowOverflow ? Int.min : low, highOverflow ? Int.max : high, ordinal])
            var result: [Passage] = []
            while let row = try rows.next() { result.append(try Self.passage(row)) }
            return result
        }
    }

    /// A passage from a row of chunk joined with document (chunkKey, source, title,
    /// headingPath, text, startOffset, endOffset, page). A chunk with a page (of a PDF) names
    /// it in its source, `source#page=N` (as a PDF viewer opens it), so that search results,
    /// citations and reports all cite the page. Columns are decoded with `decode`, which
    /// throws on a NULL or unreadable value where GRDB's subscripts would trap, and offsets
    /// must be what ingest writes (0 ≤ start ≤ end < 2³¹: documents are at most 64 MB), so
    /// that researchers can add sentence offsets to them without overflow.
    private static func passage(_ row: Row) throws -> Passage {
        let start: Int = try row.decode(forColumn: "startOffset")
        let end: Int = try row.decode(forColumn: "endOffset")
        let chunkKey: String = try row.decode(forColumn: "chunkKey")
        guard let passage = StoredPassage.make(
            chunkKey: chunkKey, source: try row.decode(forColumn: "source"), displaySource: try row.decode(forColumn: "displaySource"),
            title: try row.decode(forColumn: "title"), headingPath: decodeHeadingPath(try row.decode(forColumn: "headingPath")),
            text: try row.decode(forColumn: "text"), start: start, end: end, page: try row.decode(forColumn: "page"))
        else {
            throw DocumentStoreError("chunk \(chunkKey) has offsets \(start)..<\(end), which no ingest writes")
        }
        return passage
    }

    /// One page of the stored documents for listing to remote clients, by display name: each
    /// with its title, format, size and number of passages, and how many documents there are.
    public func documentSummaries(offset: Int, limit: Int) throws -> (total: Int, documents: [DocumentSummary]) {
        try pool.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM document") ?? 0
            let rows = try Row.fetchCursor(db, sql: """
                SELECT d.source, d.displaySource, d.title, d.format, d.byteSize, d.ingestedAt,
                       (SELECT COUNT(*) FROM chunk c WHERE c.documentId = d.id) AS passages
                FROM document d ORDER BY d.source LIMIT ? OFFSET ?
                """, arguments: [limit, offset])
            var documents: [DocumentSummary] = []
            while let row = try rows.next() {
                let source: String = try row.decode(forColumn: "source")
                let displaySource: String? = try row.decode(forColumn: "displaySource")
                documents.append(DocumentSummary(
                    source: displaySource ?? SourceFileCollector.displayName(forStoredSource: source),
                    title: try row.decode(forColumn: "title"), format: try row.decode(forColumn: "format"),
                    byteSize: try row.decode(forColumn: "byteSize"), passages: try row.decode(forColumn: "passages"),
                    ingestedAt: Self.date(secondsSince1970: try row.decode(forColumn: "ingestedAt"))))
            }
            return (total, documents)
        }
    }

    /// A stored time as a date; a value no ingest writes (not finite, beyond the year 5000 or
    /// before 1970, as in a damaged or hand-edited file) reads as 1970, so that formatting it
    /// cannot overflow.
    public static func date(secondsSince1970 seconds: Double) -> Date {
        Date(timeIntervalSince1970: seconds.isFinite && seconds >= 0 && seconds < 95_617_584_000 ? seconds : 0)
    }

    /// The stored plain text of a document: what every passage offset indexes into.
    public func documentText(source: String) throws -> String? {
        try pool.read { db in try String.fetchOne(db, sql: "SELECT text FROM document WHERE source = ?", arguments: [source]) }
    }

    /// Up to `limit` whole documents with ids after `id`, in id order, each with its passages
    /// and their vectors as stored: pages for copying the store elsewhere (`ares db import`)
    /// with bounded memory. Columns are decoded with `decode` (a damaged row throws, never traps).
    public func documents(afterID id: Int64, limit: Int) throws -> [DocumentExport] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, source, displaySource, absolutePath, title, format, byteSize, modifiedAt, contentHash, text, ingestedAt
                FROM document WHERE id > ? ORDER BY id LIMIT ?
                """, arguments: [id, max(1, limit)])
            return try rows.map { row in
                let documentID: Int64 = try row.decode(forColumn: "id")
                let source: String = try row.decode(forColumn: "source")
                let displaySource: String? = try row.decode(forColumn: "displaySource")
                let record = DocumentRecord(
                    source: source, displaySource: displaySource ?? SourceFileCollector.displayName(forStoredSource: source),
                    absolutePath: try row.decode(forColumn: "absolutePath"), title: try row.decode(forColumn: "title"),
                    format: try row.decode(forColumn: "format"), byteSize: try row.decode(forColumn: "byteSize"),
                    modifiedAt: try row.decode(forColumn: "modifiedAt"), contentHash: try row.decode(forColumn: "contentHash"),
                    text: try row.decode(forColumn: "text"))
                let chunks = try Row.fetchAll(db, sql: """
                    SELECT chunkKey, ordinal, headingPath, startOffset, endOffset, text, embedding, page
                    FROM chunk WHERE documentId = ? ORDER BY ordinal
                    """, arguments: [documentID]).map { chunk in
                    ChunkRecord(chunkKey: try chunk.decode(forColumn: "chunkKey"), ordinal: try chunk.decode(forColumn: "ordinal"),
                                headingPath: Self.decodeHeadingPath(try chunk.decode(forColumn: "headingPath")),
                                start: try chunk.decode(forColumn: "startOffset"), end: try chunk.decode(forColumn: "endOffset"),
                                text: try chunk.decode(forColumn: "text"),
                                embedding: Self.decodeEmbedding(try chunk.decode(forColumn: "embedding")),
                                page: try chunk.decode(forColumn: "page"))
                }
                return DocumentExport(id: documentID, document: record, ingestedAt: try row.decode(forColumn: "ingestedAt"), chunks: chunks)
            }
        }
    }

    /// Sources stored exactly as `source`, or under it when it names a folder.
    public func sources(matching source: String) throws -> [String] {
        let folder = source.hasSuffix("/") ? source : source + "/"
        return try pool.read { db in
            try String.fetchAll(db, sql: """
                SELECT source FROM document WHERE source = ? OR substr(source, 1, ?) = ? ORDER BY source
                """, arguments: [source, folder.count, folder])
        }
    }

    // MARK: Writing

    /// The chunk ids a write removed and, per upserted document, the ids of its new chunks.
    public typealias WriteOutcome = DocumentWriteOutcome

    /// In one transaction: replaces each upserted document (and its chunks) by source, deletes
    /// the given sources, records new modification times of unchanged files, and increments
    /// the generation. Returns the affected chunk ids so the indexes can follow.
    public func write(
        upserts: [(document: DocumentRecord, chunks: [ChunkRecord])],
        deletions: [String] = [],
        touches: [(source: String, modifiedAt: Double)] = []
    ) throws -> WriteOutcome {
        try pool.write { db in
            var outcome = WriteOutcome()
            let now = Date().timeIntervalSince1970
            for source in deletions + upserts.map(\.document.source) {
                let chunkIDs = try Int64.fetchAll(db, sql: """
                    SELECT chunk.id FROM chunk JOIN document ON document.id = chunk.documentId WHERE document.source = ?
                    """, arguments: [source])
                outcome.removedChunkIDs.append(contentsOf: chunkIDs)
                try db.execute(sql: "DELETE FROM document WHERE source = ?", arguments: [source])
            }
            let insertChunk = try db.cachedStatement(sql: """
                INSERT INTO chunk(documentId, ordinal, chunkKey, headingPath, startOffset, endOffset, text, embedding, page)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for (document, chunks) in upserts {
                try db.execute(sql: """
                    INSERT INTO document(source, displaySource, absolutePath, title, format, byteSize, modifiedAt, contentHash, text, ingestedAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [document.source, document.displaySource, document.absolutePath, document.title, document.format,
                                     document.byteSize, document.modifiedAt, document.contentHash, document.text, now])
                let documentID = db.lastInsertedRowID
                var chunkIDs: [Int64] = []
                chunkIDs.reserveCapacity(chunks.count)
                for chunk in chunks {
                    try insertChunk.execute(arguments: [
                        documentID, chunk.ordinal, chunk.chunkKey, Self.encodeHeadingPath(chunk.headingPath),
                        chunk.start, chunk.end, chunk.text, Self.encodeEmbedding(chunk.embedding), chunk.page,
                    ])
                    chunkIDs.append(db.lastInsertedRowID)
                }
                outcome.insertedChunkIDs.append(chunkIDs)
            }
            for (source, modifiedAt) in touches {
                try db.execute(sql: "UPDATE document SET modifiedAt = ? WHERE source = ?", arguments: [modifiedAt, source])
            }
            if !upserts.isEmpty || !outcome.removedChunkIDs.isEmpty || !deletions.isEmpty {
                try db.execute(sql: "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'generation'")
            }
            return outcome
        }
    }

    /// Replaces every chunk's embedding (after the embedder changed) in one transaction.
    public func replaceEmbeddings(_ embeddings: [(id: Int64, embedding: [Float])]) throws {
        try pool.write { db in
            let update = try db.cachedStatement(sql: "UPDATE chunk SET embedding = ? WHERE id = ?")
            for (id, embedding) in embeddings {
                try update.execute(arguments: [Self.encodeEmbedding(embedding), id])
            }
            try db.execute(sql: "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'generation'")
        }
    }

    // MARK: Encoding

    public static func encodeHeadingPath(_ path: [String]) -> String {
        path.joined(separator: headingSeparator)
    }

    public static func decodeHeadingPath(_ value: String) -> [String] {
        value.isEmpty ? [] : value.components(separatedBy: headingSeparator)
    }

    public static func encodeEmbedding(_ vector: [Float]) -> Data {
        vector.withUnsafeBytes { Data($0) }
    }

    public static func decodeEmbedding(_ data: Data) -> [Float] {
        let count = data.count / MemoryLayout<Float>.size
        return data.withUnsafeBytes { raw in
            (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        }
    }
}
