import Knowledge
import ResearchCore

/// The built-in researcher: searches the knowledge base with each of the sub-question's
/// queries, reads the best passages and keeps the sentences that share the most weighted
/// terms with the sub-question. Offline and deterministic.
///
/// With an `expander`, the best passages of the first query are feedback for one more search:
/// that query with the corpus's related terms added (pseudo-relevance feedback), which finds
/// passages that answer in the corpus's words rather than the asker's. Sentences are still
/// scored against the sub-question's own terms.
public struct RetrievalResearcher: SubQuestionResearcher {
    public let retriever: any PassageRetriever
    public let expander: QueryExpander?
    /// Related terms added to the expanded query.
    public var expansionTerms: Int
    public var passagesPerQuery: Int
    public var maximumEvidence: Int
    /// A sentence must cover at least this share of the sub-question's terms.
    public var minimumOverlap: Double
    private let analyzer = TextAnalyzer()

    public init(retriever: any PassageRetriever, expander: QueryExpander? = nil, expansionTerms: Int = 5,
                passagesPerQuery: Int = 8, maximumEvidence: Int = 6, minimumOverlap: Double = 0.25) {
        self.retriever = retriever
        self.expander = expander
        self.expansionTerms = expansionTerms
        self.passagesPerQuery = passagesPerQuery
        self.maximumEvidence = maximumEvidence
        self.minimumOverlap = minimumOverlap
    }

    /// The passages the sub-question's queries find, each once, with its best rank.
    func passages(for subQuestion: SubQuestion) async throws -> [(passage: Passage, rank: Int)] {
        var passages: [(passage: Passage, rank: Int)] = []
        var seen = Set<String>()
        func add(_ found: [RetrievedPassage]) {
            for (rank, item) in found.enumerated() where seen.insert(item.passage.chunkId).inserted {
                passages.append((item.passage, rank))
            }
        }
        var feedback: [Passage] = []
        for query in subQuestion.queries {
            let found = try await retriever.retrieve(query, limit: passagesPerQuery)
            if feedback.isEmpty { feedback = found.map(\.passage) }
            add(found)
        }
        if let expander, expansionTerms > 0, let first = subQuestion.queries.first {
            let related = try await expander.relatedTerms(to: first, feedback: feedback, limit: expansionTerms)
            if !related.isEmpty { add(try await retriever.retrieve(first + " " + related.joined(separator: " "), limit: passagesPerQuery)) }
        }
        return passages
    }

    public func research(_ subQuestion: SubQuestion) async throws -> [Evidence] {
        let passages = try await passages(for: subQuestion)
        let questionTerms = Set(analyzer.terms(subQuestion.text + " " + subQuestion.queries.joined(separator: " ")))
        guard !questionTerms.isEmpty else { return [] }

        var candidates: [Evidence] = []
        var seenSentences = Set<String>()
        for (passage, rank) in passages {
            for sentence in SentenceSplitter.sentences(in: passage.text) {
                // Fragments (a heading, a caption) are not statements a report can stand on.
                guard sentence.text.split(whereSeparator: \.isWhitespace).count >= 4 else { continue }
                let terms = Set(analyzer.terms(sentence.text))
                let overlap = Double(terms.intersection(questionTerms).count) / Double(questionTerms.count)
                guard overlap >= minimumOverlap, seenSentences.insert(sentence.text).inserted else { continue }
                // Earlier-ranked passages break ties: retrieval already weighed the whole passage.
                let score = overlap + 0.05 / Double(rank + 1)
                candidates.append(Evidence(
                    subQuestionID: subQuestion.id, sentence: sentence.text, passage: passage,
                    start: passage.start + sentence.start, end: passage.start + sentence.end, score: min(score, 1)))
            }
        }
        return Array(candidates.sorted { $0.score > $1.score }.prefix(maximumEvidence))
    }
}
