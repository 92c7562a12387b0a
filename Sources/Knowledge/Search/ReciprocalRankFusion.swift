/// Reciprocal rank fusion (Cormack, Clarke & Büttcher 2009): each ranked list gives an item
/// 1 / (k + rank); items are ordered by the sum. It needs no score calibration between
/// BM25 and cosine similarity, which live on unrelated scales.
public enum ReciprocalRankFusion {
    public static let defaultK = 60.0

    /// Fused (id, score) pairs, best first; ties keep the order of first appearance. A ranking
    /// counts `weights[i]` times (1 where no weight is given).
    public static func fuse(_ rankings: [[UInt64]], weights: [Double] = [], k: Double = defaultK) -> [(id: UInt64, score: Double)] {
        var scores: [UInt64: Double] = [:]
        var firstSeen: [UInt64: Int] = [:]
        var order = 0
        for (list, ranking) in rankings.enumerated() {
            let weight = list < weights.count ? weights[list] : 1
            for (index, id) in ranking.enumerated() {
                scores[id, default: 0] += weight / (k + Double(index + 1))
                if firstSeen[id] == nil {
                    firstSeen[id] = order
                    order += 1
                }
            }
        }
        return scores.map { (id: $0.key, score: $0.value) }.sorted {
            $0.score != $1.score ? $0.score > $1.score : (firstSeen[$0.id] ?? 0) < (firstSeen[$1.id] ?? 0)
        }
    }
}
