/// A numbered source of a report: the passage a citation marker [n] points at.
public struct Citation: Sendable, Codable, Hashable {
    public var index: Int
    public var passage: Passage

    public init(index: Int, passage: Passage) {
        self.index = index
        self.passage = passage
    }
}

/// The written answer: a direct answer, a section per sub-question, numbered sources.
public struct ResearchReport: Sendable, Codable, Hashable {
    public struct Section: Sendable, Codable, Hashable {
        public var title: String
        public var text: String
        public var citations: [Int]

        public init(title: String, text: String, citations: [Int]) {
            self.title = title
            self.text = text
            self.citations = citations
        }

        /// The section answers its sub-question: its text cites at least one of its sources.
        /// A section whose claims the citation check removed, or that says the knowledge base
        /// does not answer it, cites none.
        public var isAnswered: Bool {
            citations.contains { text.contains("[\($0)]") }
        }
    }

    public var answer: String
    public var sections: [Section]
    public var citations: [Citation]
    public var markdown: String
    /// What a reader should know about how the report was made (e.g. a fallback was used).
    public var notes: [String]

    public init(answer: String, sections: [Section], citations: [Citation], markdown: String, notes: [String] = []) {
        self.answer = answer
        self.sections = sections
        self.citations = citations
        self.markdown = markdown
        self.notes = notes
    }

    /// The sections (one per sub-question) that answer nothing: what the report's quality
    /// block counts as unanswered sub-questions. Derived from the stored text, so reports
    /// written before abstention existed are counted the same way.
    public var unansweredSections: [Section] {
        sections.filter { !$0.isAnswered }
    }
}

/// What the citation verifier found: how many report sentences their cited passage supports.
public struct CitationCheck: Sendable, Codable, Hashable {
    public var supportedSentences: Int
    public var unsupportedSentences: Int
    /// The unsupported sentences, dropped or flagged in the final report.
    public var flagged: [String]

    public init(supportedSentences: Int, unsupportedSentences: Int, flagged: [String]) {
        self.supportedSentences = supportedSentences
        self.unsupportedSentences = unsupportedSentences
        self.flagged = flagged
    }
}
