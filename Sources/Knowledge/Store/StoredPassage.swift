import ResearchCore

/// A passage from its stored columns, the same way for every repository (SQLite, PostgreSQL).
public enum StoredPassage {
    /// The passage, or nil when its offsets are not what ingest writes (0 ≤ start ≤ end < 2³¹:
    /// documents are at most 64 MB), as in a damaged or hand-edited store, so that researchers
    /// can add sentence offsets to them without overflow. A passage with a page (of a PDF)
    /// names it in its source, `source#page=N` (as a PDF viewer opens it), so that search
    /// results, citations and reports all cite the page. A document stored before display
    /// names existed is shown by its file name.
    public static func make(
        chunkKey: String, source: String, displaySource: String?, title: String, headingPath: [String],
        text: String, start: Int, end: Int, page: Int?
    ) -> Passage? {
        guard start >= 0, start <= end, end <= Int(Int32.max) else { return nil }
        var passage = Passage(chunkId: chunkKey, source: source, title: title, headingPath: headingPath, text: text, start: start, end: end)
        passage.displaySource = displaySource ?? SourceFileCollector.displayName(forStoredSource: source)
        if let page, page > 0 {
            passage.source += "#page=\(page)"
            passage.displaySource = passage.displaySource.map { $0 + "#page=\(page)" }
        }
        return passage
    }
}
