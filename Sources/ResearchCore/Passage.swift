/// A span of an ingested document: the unit that search returns and that a citation points at.
///
/// `start` and `end` are offsets in Unicode scalars (code points) into the document's stored
/// plain text, so any client (a Python one included) can slice the same text with the same
/// numbers and find exactly the cited words.
public struct Passage: Sendable, Codable, Hashable {
    /// Stable identifier of the chunk this passage is, as shown to users and cited in reports.
    public var chunkId: String
    /// The document's path as it was ingested.
    public var source: String
    /// The document's name for others: relative to the folder that was ingested (never the
    /// machine's absolute path). Nil for passages made without a store.
    public var displaySource: String?
    public var title: String
    /// The headings above the passage, outermost first.
    public var headingPath: [String]
    public var text: String
    public var start: Int
    public var end: Int

    public init(chunkId: String, source: String, title: String, headingPath: [String], text: String, start: Int, end: Int,
                displaySource: String? = nil) {
        self.chunkId = chunkId
        self.source = source
        self.displaySource = displaySource
        self.title = title
        self.headingPath = headingPath
        self.text = text
        self.start = start
        self.end = end
    }

    /// The passage as shown to others: its source replaced by the display name (when known).
    /// The copy carries no separate display name, so that it equals itself read back from the
    /// event store (whose codec records `source` only).
    public var shared: Passage {
        var copy = self
        copy.source = displaySource ?? source
        copy.displaySource = nil
        return copy
    }
}
