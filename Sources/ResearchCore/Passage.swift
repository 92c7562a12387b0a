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
    public var title: String
    /// The headings above the passage, outermost first.
    public var headingPath: [String]
    public var text: String
    public var start: Int
    public var end: Int

    public init(chunkId: String, source: String, title: String, headingPath: [String], text: String, start: Int, end: Int) {
        self.chunkId = chunkId
        self.source = source
        self.title = title
        self.headingPath = headingPath
        self.text = text
        self.start = start
        self.end = end
    }
}
