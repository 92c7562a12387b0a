/// The JSON contract of search results that other tools rely on (`ares search --format json`,
/// the server's `ares/search`, MCP's `search_knowledge`):
/// {"query", "mode", "results": [{source, title, chunkId, score, text, headingPath, start, end}]}.
public struct SearchResultsDocument: Codable, Sendable {
    public struct Result: Codable, Sendable {
        public var source: String
        public var title: String
        public var chunkId: String
        public var score: Double
        public var text: String
        public var headingPath: [String]
        public var start: Int
        public var end: Int
    }

    public var query: String
    public var mode: String
    public var results: [Result]

    /// `sharedSources`: name documents by their display names (for remote clients), not by the
    /// path they were ingested from on this machine.
    public init(query: String, mode: SearchMode, results: [SearchResult], sharedSources: Bool = false) {
        self.query = query
        self.mode = mode.rawValue
        self.results = results.map {
            Result(source: sharedSources ? $0.passage.shared.source : $0.passage.source, title: $0.passage.title, chunkId: $0.passage.chunkId, score: $0.score,
                   text: $0.passage.text, headingPath: $0.passage.headingPath, start: $0.passage.start, end: $0.passage.end)
        }
    }
}
