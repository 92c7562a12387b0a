import Foundation
import Testing
@testable import Knowledge

@Suite struct SearchFusionTests {
    @Test func reciprocalRankFusionSumsReciprocalRanks() {
        let fused = ReciprocalRankFusion.fuse([[1, 2, 3], [3, 1, 4]], k: 60)
        // 1: 1/61 + 1/62, 3: 1/63 + 1/61, 2: 1/62, 4: 1/63
        #expect(fused.map(\.id) == [1, 3, 2, 4])
        #expect(abs(fused[0].score - (1.0 / 61 + 1.0 / 62)) < 1e-12)
        #expect(abs(fused[3].score - 1.0 / 63) < 1e-12)
        #expect(ReciprocalRankFusion.fuse([]).isEmpty)
    }

    @Test func weightedFusionLetsTheHeavierRankingLead() {
        // Unweighted, 1 (first in the first ranking) wins; with the second ranking counting
        // ten times less, a near-tie of the first ranking is all it can settle.
        #expect(ReciprocalRankFusion.fuse([[1, 2], [2, 1]]).map(\.id) == [1, 2])
        #expect(ReciprocalRankFusion.fuse([[1, 2, 3], [3, 2, 1]], weights: [1, 2]).map(\.id) == [3, 2, 1])
        let tieBreak = ReciprocalRankFusion.fuse([[1, 2, 3], [3, 2, 1]], weights: [1, 0.1])
        #expect(tieBreak.map(\.id) == [1, 2, 3])
        #expect(abs(tieBreak[2].score - (1.0 / 63 + 0.1 / 61)) < 1e-12)
    }

    @Test func fusionTiesKeepFirstAppearance() {
        let fused = ReciprocalRankFusion.fuse([[7], [8]])
        #expect(fused.map(\.id) == [7, 8])
    }

    @Test func mmrSpreadsResultsOverSources() {
        func unit(_ values: [Float]) -> [Float] {
            var vector = values
            VectorNormalization.normalize(&vector)
            return vector
        }
        let candidates: [MaximalMarginalRelevance.Candidate] = [
            .init(id: 1, relevance: 1.0, embedding: unit([1, 0, 0]), source: "page-a"),
            .init(id: 2, relevance: 0.95, embedding: unit([1, 0.05, 0]), source: "page-a"),
            .init(id: 3, relevance: 0.9, embedding: unit([0.9, 0.1, 0]), source: "page-a"),
            .init(id: 4, relevance: 0.6, embedding: unit([0, 1, 0]), source: "page-b"),
            .init(id: 5, relevance: 0.5, embedding: unit([0, 0, 1]), source: "page-c"),
        ]
        let picked = MaximalMarginalRelevance(lambda: 0.5).select(candidates, limit: 3)
        #expect(picked.map(\.id) == [1, 4, 5])
        // The default leans to relevance: another page only when it is nearly as relevant
        // (6 at 0.88 comes before the page's second passage; 4 at 0.6 does not).
        let nearlyAsGood = candidates + [.init(id: 6, relevance: 0.88, embedding: unit([0, 0.7, 0.7]), source: "page-d")]
        #expect(MaximalMarginalRelevance().select(nearlyAsGood, limit: 3).map(\.id) == [1, 6, 2])
        // With lambda 1 it is a pure relevance ranking.
        #expect(MaximalMarginalRelevance(lambda: 1).select(candidates, limit: 3).map(\.id) == [1, 2, 3])
        #expect(MaximalMarginalRelevance().select([], limit: 3).isEmpty)
        #expect(MaximalMarginalRelevance().select(candidates, limit: 0).isEmpty)
    }

    @Test func topKSelectsHighestInOrder() {
        let values: [Float] = [0.5, 3, 1, 3, -2, 8]
        let picked = TopK.select(3, from: Array(values.indices)) { values[$0] }
        #expect(picked == [5, 1, 3])
        #expect(TopK.select(10, from: [0, 1]) { Float($0) } == [1, 0])
    }

    @Test func hashingEmbedderIsDeterministicUnitLengthAndSimilarForRelatedText() async throws {
        let embedder = HashingEmbedder(dimension: 256)
        let vectors = try await embedder.embed([
            "vacuum reclaims storage occupied by dead tuples",
            "VACUUM reclaims the storage of dead tuples",
            "the planner estimates join costs with statistics",
        ])
        #expect(vectors.count == 3)
        for vector in vectors {
            #expect(vector.count == 256)
            let norm = vector.reduce(0) { $0 + $1 * $1 }
            #expect(abs(norm - 1) < 1e-4)
        }
        #expect(vectors[0] == embedder.embedOne("vacuum reclaims storage occupied by dead tuples"))
        let related = VectorNormalization.dot(vectors[0], vectors[1])
        let unrelated = VectorNormalization.dot(vectors[0], vectors[2])
        #expect(related > 0.6)
        #expect(related > unrelated + 0.3)
        #expect(embedder.embedOne("").allSatisfy { $0 == 0 })
    }
}
