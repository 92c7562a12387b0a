import Foundation
import Knowledge
import ResearchCore

/// Query expansion by pseudo-relevance feedback: the best passages a query retrieved are taken
/// as relevant, and the terms that weigh most in them (share of the passage's words, times idf
/// over the whole corpus, times a rank discount) are the query's related terms: the corpus's
/// own words for what the asker meant ("privilege" where "permission" was asked). They come
/// back spelled as the corpus writes them, so a query built from them analyzes as intended.
public struct QueryExpander: Sendable {
    public let statistics: any CorpusStatistics
    /// Passages read as feedback (best first).
    public var feedbackPassages: Int
    private let analyzer = TextAnalyzer()
    private let words = TextAnalyzer(stemming: false)

    public init(statistics: any CorpusStatistics, feedbackPassages: Int = 5) {
        self.statistics = statistics
        self.feedbackPassages = max(1, feedbackPassages)
    }

    /// Up to `limit` related terms for `query`, best first, from `feedback` (best first).
    public func relatedTerms(to query: String, feedback: [Passage], limit: Int) async throws -> [String] {
        let queryTerms = Set(analyzer.terms(query))
        guard limit > 0, !queryTerms.isEmpty else { return [] }
        var weights: [String: Double] = [:]
        var spellings: [String: [String: Int]] = [:]
        for (rank, passage) in feedback.prefix(feedbackPassages).enumerated() {
            var counts: [String: Int] = [:]
            var length = 0
            for word in words.terms(passage.text) {
                // Words with digits are mostly example names ("col1", "f4"), not vocabulary.
                guard !word.contains(where: \.isNumber), let stem = analyzer.terms(word).last else { continue }
                length += 1
                counts[stem, default: 0] += 1
                spellings[stem, default: [:]][word, default: 0] += 1
            }
            guard length > 0 else { continue }
            let discount = 1 / Double(rank + 1)
            for (stem, count) in counts { weights[stem, default: 0] += discount * Double(count) / Double(length) }
        }
        let candidates = weights.keys.filter { !queryTerms.contains($0) }
        let (passages, frequencies) = try await statistics.documentFrequencies(of: candidates)
        guard passages > 0 else { return [] }
        var scored: [(stem: String, score: Double)] = []
        for stem in candidates {
            let frequency = frequencies[stem] ?? 0
            // A term of a single passage is likely a name; one in a tenth of the corpus says nothing.
            guard frequency >= 2, frequency * 10 <= passages, let weight = weights[stem] else { continue }
            let idf = log(1 + (Double(passages - frequency) + 0.5) / (Double(frequency) + 0.5))
            scored.append((stem, weight * idf))
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.stem < $1.stem }
        return scored.prefix(limit).compactMap { item in
            spellings[item.stem]?.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
        }
    }
}
