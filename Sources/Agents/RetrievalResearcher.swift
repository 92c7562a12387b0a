import Foundation
import Knowledge
import ResearchCore

/// The built-in researcher: searches the knowledge base with each of the sub-question's
/// queries, reads the best passages (and, with a `neighborhood`, the passages around the best
/// hits) and keeps the statements that answer the sub-question best. Offline and deterministic.
///
/// With an `expander`, the best passages of the first query are feedback for one more search:
/// that query with the corpus's related terms added (pseudo-relevance feedback), which finds
/// passages that answer in the corpus's words rather than the asker's. Sentences are still
/// scored against the sub-question's own terms.
///
/// A sentence's score weighs the sub-question's terms it contains by how rare they are in the
/// corpus (`statistics`; every term counts the same without it): "jsonb" says more about a
/// sentence than "difference". Terms found only in the headings above the sentence count for
/// less, and an earlier-ranked passage for a little more, since retrieval weighed the whole
/// passage. Only statements are evidence: fragments, lists of names and code lines are not.
public struct RetrievalResearcher: SubQuestionResearcher {
    public let retriever: any PassageRetriever
    public let expander: QueryExpander?
    public let statistics: (any CorpusStatistics)?
    public let neighborhood: (any PassageNeighborhood)?
    /// A sentence-embedding model to score sentences by meaning as well as by words (a real
    /// model only: the built-in hashing embedder sees words, which the score already has).
    public let meaning: (any Embedder)?
    /// Related terms added to the expanded query.
    public var expansionTerms: Int
    public var passagesPerQuery: Int
    /// The first query's best hits whose neighbours are read too, one passage on each side.
    public var hitsReadAround: Int
    public var maximumEvidence: Int
    /// A sentence must hold at least this (weighted) share of the sub-question's terms
    /// (`RelevanceThresholds.minimumWordShare`): below it, the sentence is not evidence.
    public var minimumOverlap: Double
    /// With a semantic model, a sentence this close in meaning (cosine) is evidence even when
    /// it holds fewer of the sub-question's terms (`RelevanceThresholds.minimumCosine`).
    public var minimumCosine: Double
    private let analyzer = TextAnalyzer()

    /// How a sentence's score is made: its own terms, its headings' terms, its passage's rank.
    static let ownWeight = 0.7, headingWeight = 0.15, rankWeight = 0.15

    public init(retriever: any PassageRetriever, expander: QueryExpander? = nil, statistics: (any CorpusStatistics)? = nil,
                neighborhood: (any PassageNeighborhood)? = nil, meaning: (any Embedder)? = nil, expansionTerms: Int = 5, passagesPerQuery: Int = 8,
                hitsReadAround: Int = 3, maximumEvidence: Int = 6, minimumOverlap: Double = RelevanceThresholds().minimumWordShare,
                minimumCosine: Double = RelevanceThresholds().minimumCosine) {
        self.retriever = retriever
        self.expander = expander
        self.statistics = statistics ?? expander?.statistics
        self.neighborhood = neighborhood
        self.meaning = meaning
        self.expansionTerms = expansionTerms
        self.passagesPerQuery = passagesPerQuery
        self.hitsReadAround = hitsReadAround
        self.maximumEvidence = maximumEvidence
        self.minimumOverlap = minimumOverlap
        self.minimumCosine = minimumCosine
    }

    /// The passages the sub-question's queries find, each once, with its best rank; the
    /// neighbours of the first query's best hits rank just after their hit.
    func passages(for subQuestion: SubQuestion) async throws -> [(passage: Passage, rank: Int)] {
        var passages: [(passage: Passage, rank: Int)] = []
        var seen = Set<String>()
        func add(_ found: [Passage], rank: (Int) -> Int) {
            for (index, passage) in found.enumerated() where seen.insert(passage.chunkId).inserted {
                passages.append((passage, rank(index)))
            }
        }
        var feedback: [Passage] = []
        for query in subQuestion.queries {
            let found = try await retriever.retrieve(query, limit: passagesPerQuery).map(\.passage)
            if feedback.isEmpty { feedback = found }
            add(found) { $0 }
        }
        if let expander, expansionTerms > 0, let first = subQuestion.queries.first {
            let related = try await expander.relatedTerms(to: first, feedback: feedback, limit: expansionTerms)
            if !related.isEmpty {
                add(try await retriever.retrieve(first + " " + related.joined(separator: " "), limit: passagesPerQuery).map(\.passage)) { $0 }
            }
        }
        if let neighborhood {
            for (rank, hit) in feedback.prefix(hitsReadAround).enumerated() {
                add(try await neighborhood.neighbors(of: hit, before: 1, after: 1)) { _ in rank + 1 }
            }
        }
        return passages
    }

    /// How much each of `terms` says: its inverse document frequency in the corpus (0 for a
    /// word it does not have), or 1 without statistics.
    func weights(of terms: Set<String>) async throws -> [String: Double] {
        guard let statistics else { return Dictionary(uniqueKeysWithValues: terms.map { ($0, 1.0) }) }
        let (count, frequencies) = try await statistics.documentFrequencies(of: Array(terms))
        return Dictionary(uniqueKeysWithValues: terms.map { term in
            // A word no passage has (a typo, a name the corpus lacks) can match nothing: it
            // must not make every sentence look like a poor answer.
            let frequency = Double(frequencies[term] ?? 0)
            return (term, frequency == 0 ? 0 : log(1 + (Double(count) - frequency + 0.5) / (frequency + 0.5)))
        })
    }

    /// A statement found in a passage, before it is scored: how much of the sub-question's
    /// weight its own words carry, and what its headings and its passage's rank add.
    struct Candidate {
        var evidence: Evidence
        var own: Double
        var context: Double
    }

    public func research(_ subQuestion: SubQuestion) async throws -> [Evidence] {
        try await findings(for: subQuestion).evidence
    }

    /// The evidence; when the embedding model fails to score the sentences, they are chosen
    /// by their words and the report says so.
    public func findings(for subQuestion: SubQuestion) async throws -> ResearchFindings {
        let passages = try await passages(for: subQuestion)
        let questionTerms = Set(analyzer.terms(subQuestion.text + " " + subQuestion.queries.joined(separator: " ")))
        let weights = try await weights(of: questionTerms)
        let total = weights.values.reduce(0, +)
        guard total > 0 else { return ResearchFindings(evidence: []) }
        func share(_ terms: Set<String>) -> Double { terms.reduce(0) { $0 + (weights[$1] ?? 0) } / total }

        var candidates: [Candidate] = []
        var seenSentences = Set<String>()
        for (passage, rank) in passages {
            let headingTerms = Set(analyzer.terms(passage.headingPath.joined(separator: " "))).intersection(questionTerms)
            for sentence in SentenceSplitter.sentences(in: passage.text) where Self.isStatement(sentence.text) {
                // A table row's column labels are the same in every row: they count like its
                // headings, so that the row whose own cells match wins, not the table's first rows.
                let (content, labels) = LabelledTableRow.split(sentence.text)
                let terms = Set(analyzer.terms(content)).intersection(questionTerms)
                // A sentence sharing no word with the question is not read further, even by meaning.
                guard !terms.isEmpty, seenSentences.insert(sentence.text).inserted else { continue }
                let labelTerms = labels.isEmpty ? [] : Set(analyzer.terms(labels.joined(separator: " "))).intersection(questionTerms)
                let context = Self.headingWeight * share(headingTerms.union(labelTerms).subtracting(terms)) + Self.rankWeight / Double(rank + 1).squareRoot()
                candidates.append(Candidate(
                    evidence: Evidence(subQuestionID: subQuestion.id, sentence: sentence.text, passage: passage,
                                       start: passage.start + sentence.start, end: passage.start + sentence.end, score: 0),
                    own: share(terms), context: context))
            }
        }
        func best(_ scored: [Evidence]) -> [Evidence] { Array(scored.sorted { $0.score > $1.score }.prefix(maximumEvidence)) }
        guard let meaning else { return ResearchFindings(evidence: best(scoredByWords(candidates))) }
        do {
            return ResearchFindings(evidence: best(try await scoredByMeaning(candidates, subQuestion: subQuestion, embedder: meaning)))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return ResearchFindings(evidence: best(scoredByWords(candidates)),
                                    notes: ["the embedding model could not score the sentences for “\(subQuestion.text)” (\(error)); they were chosen by their words"])
        }
    }

    /// Word overlap: the sentence must hold `minimumOverlap` of the sub-question's weight.
    func scoredByWords(_ candidates: [Candidate]) -> [Evidence] {
        candidates.filter { $0.own >= minimumOverlap }.map { candidate in
            var evidence = candidate.evidence
            evidence.score = min(1, Self.ownWeight * candidate.own + candidate.context)
            return evidence
        }
    }

    /// Meaning first: the cosine of the sentence's and the sub-question's embeddings carries
    /// most of the score, so "which privilege lets a role read a table" can win for "permission
    /// to read" on fewer shared words. A sentence must be close in meaning or hold
    /// `minimumOverlap` of the words. The best `sentencesEmbedded` by words are embedded.
    func scoredByMeaning(_ candidates: [Candidate], subQuestion: SubQuestion, embedder: any Embedder) async throws -> [Evidence] {
        let read = Array(candidates.sorted { $0.own + $0.context > $1.own + $1.context }.prefix(Self.sentencesEmbedded))
        guard !read.isEmpty else { return [] }
        let vectors = try await embedder.embed([subQuestion.text] + read.map(\.evidence.sentence))
        guard vectors.count == read.count + 1, let question = vectors.first else {
            throw ResearcherError.embedderAnsweredWrongCount(expected: read.count + 1, got: vectors.count)
        }
        return zip(read, vectors.dropFirst()).compactMap { candidate, vector in
            let cosine = Double(VectorNormalization.dot(question, vector))
            guard cosine >= minimumCosine || candidate.own >= minimumOverlap else { return nil }
            var evidence = candidate.evidence
            evidence.score = min(1, max(0, Self.meaningWeight * cosine + (Self.ownWeight - Self.meaningWeight) * candidate.own + candidate.context))
            return evidence
        }
    }

    /// How much of the 0.7 a sentence's own content brings is meaning (the rest is words), and
    /// the sentences embedded per sub-question: the best 16 by words, re-ranked by meaning in
    /// one batch. 32, 48, 96 and 160 cost 1.5–8× the model time and cited no more answering
    /// passages over both question sets (BENCHMARKS.md).
    static let meaningWeight = 0.5, sentencesEmbedded = 16

    /// A sentence a report can stand on: at least four words, ending as a sentence ends, and
    /// not a list of names (an index page, a table of contents) or a line of code. A table row
    /// labelled at ingest ("relation size — Upper Limit: 32 TB; Comment: …",
    /// `LabelledTableRow`) is one too: it pairs each value with what it is, which is a
    /// statement without the full stop (the limits table is the answer to "how large can a
    /// table grow", and no prose sentence says it).
    static func isStatement(_ text: String) -> Bool {
        if LabelledTableRow.matches(text) { return text.split(whereSeparator: \.isWhitespace).count >= 3 }
        let words = text.split(whereSeparator: \.isWhitespace)
        guard words.count >= 4 else { return false }
        let closers = ")]\"'”’".unicodeScalars
        guard let last = text.unicodeScalars.last(where: { !closers.contains($0) }), ".!?:".unicodeScalars.contains(last) else {
            return false
        }
        let commas = text.reduce(0) { $1 == "," ? $0 + 1 : $0 }
        return commas * 4 <= words.count
    }
}

/// Why the built-in researcher could not score a sub-question's sentences.
public enum ResearcherError: Error, CustomStringConvertible {
    case embedderAnsweredWrongCount(expected: Int, got: Int)

    public var description: String {
        switch self {
        case .embedderAnsweredWrongCount(let expected, let got):
            "the embedding model returned \(got) vectors for \(expected) sentences"
        }
    }
}
