/// Maximal marginal relevance (Carbonell & Goldstein 1998): picks results one at a time,
/// trading relevance against similarity to what was already picked, so that five results
/// are not five passages of one page.
///
/// Similarity is the cosine of the embeddings, raised to at least `sameSourceSimilarity`
/// for two passages of the same document: two passages of one page are near-duplicates
/// from a reader's point of view even when their words differ.
public struct MaximalMarginalRelevance: Sendable {
    public struct Candidate: Sendable {
        public var id: UInt64
        public var relevance: Double
        public var embedding: [Float]
        public var source: String
        public init(id: UInt64, relevance: Double, embedding: [Float], source: String) {
            self.id = id
            self.relevance = relevance
            self.embedding = embedding
            self.source = source
        }
    }

    /// 1 is pure relevance, 0 pure diversity.
    public var lambda: Double
    public var sameSourceSimilarity: Double

    /// 0.8: at 0.5 the second passage of the page that answers was pushed below other pages'
    /// first passages, and Recall@5 fell on both question sets (BENCHMARKS.md).
    public init(lambda: Double = 0.8, sameSourceSimilarity: Double = 0.6) {
        self.lambda = lambda
        self.sameSourceSimilarity = sameSourceSimilarity
    }

    /// The chosen candidates in pick order. Relevance is min-max normalized first, so the
    /// trade-off does not depend on the scale of the fused scores.
    public func select(_ candidates: [Candidate], limit: Int) -> [Candidate] {
        guard limit > 0, !candidates.isEmpty else { return [] }
        let relevances = candidates.map(\.relevance)
        let low = relevances.min() ?? 0
        let spread = (relevances.max() ?? 0) - low
        let normalized = relevances.map { spread > 0 ? ($0 - low) / spread : 1 }

        var chosen: [Int] = []
        var remaining = Array(candidates.indices)
        var maxSimilarity = [Double](repeating: 0, count: candidates.count)
        while chosen.count < limit, !remaining.isEmpty {
            var bestPosition = 0
            var bestValue = -Double.infinity
            for (position, index) in remaining.enumerated() {
                let value = lambda * normalized[index] - (1 - lambda) * (chosen.isEmpty ? 0 : maxSimilarity[index])
                if value > bestValue {
                    bestValue = value
                    bestPosition = position
                }
            }
            let picked = remaining.remove(at: bestPosition)
            chosen.append(picked)
            for index in remaining {
                maxSimilarity[index] = max(maxSimilarity[index], similarity(candidates[index], candidates[picked]))
            }
        }
        return chosen.map { candidates[$0] }
    }

    func similarity(_ a: Candidate, _ b: Candidate) -> Double {
        let cosine = Double(VectorNormalization.dot(a.embedding, b.embedding))
        return a.source == b.source ? max(cosine, sameSourceSimilarity) : cosine
    }
}
