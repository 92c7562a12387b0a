import Foundation

/// Reads one file and turns it into a document ready to store: format detection, text
/// extraction, chunking, analysis and embedding. It runs on worker tasks in parallel; it
/// touches no shared state, so any number can run at once.
struct DocumentPreparer: Sendable {
    /// Larger files are skipped: they are almost never prose, and reading them whole would
    /// make memory use unbounded.
    static let maximumFileSize: Int64 = 64 << 20
    /// Titles and headings are cut to this many characters: each is repeated with every
    /// passage under it (its indexed text, its stored heading path), so one megabyte-long
    /// heading in a hostile file would multiply into gigabytes. Real ones are far shorter.
    static let maximumLabelLength = 1000

    let embedder: any Embedder
    let chunker = Chunker()
    let analyzer = TextAnalyzer()

    func prepare(_ file: SourceFile, previousHash: String?) async -> PreparedFile {
        guard file.byteSize <= Self.maximumFileSize else {
            return .skipped(path: file.source, reason: "larger than the \(Self.maximumFileSize >> 20) MB limit")
        }
        let bytes: Data
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: file.absolutePath))
        } catch {
            return .skipped(path: file.source, reason: "cannot read: \(KnowledgeBase.reason(error))")
        }
        let contentHash = FastHash.hex(FastHash.fnv1a(bytes))
        if contentHash == previousHash {
            return .unchanged(source: file.source, modifiedAt: file.modifiedAt)
        }
        let fallbackTitle = URL(fileURLWithPath: file.source).deletingPathExtension().lastPathComponent
        let document: ExtractedDocument
        let format: String
        var note: String?
        switch DocumentFormat.load(path: file.source, bytes: bytes, fallbackTitle: fallbackTitle) {
        case let .failure(unsupported):
            return .skipped(path: file.source, reason: unsupported.description)
        case let .success(loaded):
            document = loaded.document
            format = loaded.format.rawValue
            if loaded.decodedAsLatin1 {
                note = "not valid UTF-8: read as Latin-1"
            } else if !loaded.isValidUTF8 {
                note = "not valid UTF-8: invalid bytes were replaced with U+FFFD"
            }
        }
        if document.text.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) {
            note = "no text to index"
        }

        let title = Self.label(document.title)
        let drafts = chunker.chunks(of: document).map { draft in
            var draft = draft
            draft.headingPath = draft.headingPath.map(Self.label)
            return draft
        }
        let indexedTexts = drafts.map { IndexedText.compose(title: title, headingPath: $0.headingPath, text: $0.text) }
        let terms = indexedTexts.map(analyzer.terms)
        let embeddings: [[Float]]
        do {
            if let builtin = embedder as? HashingEmbedder {
                embeddings = terms.map(builtin.embed(terms:))
            } else {
                embeddings = try await embedder.embed(indexedTexts)
            }
        } catch {
            return .skipped(path: file.source, reason: "embedding failed: \(error)")
        }
        // An embedder (a remote one, say) that answers with another number of vectors than
        // texts must not make the indexing below read past its answer.
        guard embeddings.count == drafts.count else {
            return .skipped(path: file.source, reason: "embedding failed: \(embeddings.count) vectors for \(drafts.count) passages")
        }
        var chunks: [ChunkRecord] = []
        chunks.reserveCapacity(drafts.count)
        for (ordinal, draft) in drafts.enumerated() {
            let key = FastHash.hex(FastHash.fnv1a("\(file.source)\u{0}\(draft.start)\u{0}\(draft.text)"))
            chunks.append(ChunkRecord(
                chunkKey: key, ordinal: ordinal, headingPath: draft.headingPath, start: draft.start, end: draft.end,
                text: draft.text, embedding: embeddings[ordinal], page: draft.page))
        }
        let record = DocumentRecord(
            source: file.source, displaySource: file.displaySource, absolutePath: file.absolutePath, title: title, format: format,
            byteSize: file.byteSize, modifiedAt: file.modifiedAt, contentHash: contentHash, text: document.text)
        return .document(record, chunks, terms: terms, note: note)
    }

    /// `text` cut to `maximumLabelLength` characters (the UTF-8 count, O(1), spares the
    /// common short case a character count).
    static func label(_ text: String) -> String {
        text.utf8.count <= maximumLabelLength ? text : String(text.prefix(maximumLabelLength))
    }
}
