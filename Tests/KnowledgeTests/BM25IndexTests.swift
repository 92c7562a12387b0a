import Foundation
import Testing
@testable import Knowledge

@Suite struct BM25IndexTests {
    /// d1 = a b a (length 3), d2 = b c (2), d3 = c (1): N = 3, avgdl = 2, k1 = 1.2, b = 0.75.
    func sample() -> BM25Index {
        var index = BM25Index()
        index.add(id: 1, terms: ["a", "b", "a"])
        index.add(id: 2, terms: ["b", "c"])
        index.add(id: 3, terms: ["c"])
        return index
    }

    @Test func scoresMatchHandComputedValues() {
        let index = sample()
        // "a": df 1, idf = ln(1 + 2.5/1.5) = 0.980829; d1: tf 2, K = 1.2·(0.25 + 0.75·3/2) = 1.65
        // score = 0.980829 · 2 · 2.2 / (2 + 1.65) = 1.182368
        let a = index.search(terms: ["a"], limit: 10)
        #expect(a.map(\.id) == [1])
        #expect(abs(a[0].score - 1.182368) < 1e-4)
        // "b": df 2, idf = ln(1.6) = 0.470004; d2: K = 1.2 → 0.470004; d1: K = 1.65 → 0.390192
        let b = index.search(terms: ["b"], limit: 10)
        #expect(b.map(\.id) == [2, 1])
        #expect(abs(b[0].score - 0.470004) < 1e-4)
        #expect(abs(b[1].score - 0.390192) < 1e-4)
        // A query sums over its distinct terms; a repeated query term counts once.
        let ab = index.search(terms: ["a", "b", "a"], limit: 10)
        #expect(ab.first?.id == 1)
        #expect(abs((ab.first?.score ?? 0) - (1.182368 + 0.390192)) < 1e-4)
    }

    @Test func unknownTermsAndLimits() {
        let index = sample()
        #expect(index.search(terms: ["zzz"], limit: 5).isEmpty)
        #expect(index.search(terms: [], limit: 5).isEmpty)
        #expect(index.search(terms: ["c"], limit: 0).isEmpty)
        #expect(index.search(terms: ["b", "c"], limit: 1).count == 1)
        #expect(BM25Index().search(terms: ["a"], limit: 3).isEmpty)
    }

    @Test func removalKeepsStatisticsExact() {
        var index = sample()
        index.add(id: 4, terms: ["a", "z", "z", "z", "z"])
        index.remove(ids: [4])
        // After removing d4 the scores must equal those of the original three documents.
        let fresh = sample()
        #expect(index.search(terms: ["a"], limit: 5) == fresh.search(terms: ["a"], limit: 5))
        #expect(index.documentFrequency(of: "z") == 0)
        #expect(index.count == 3)
        #expect(!index.contains(id: 4))
    }

    @Test func addingAnExistingIDReplacesIt() {
        var index = sample()
        index.add(id: 1, terms: ["c"])
        #expect(index.search(terms: ["a"], limit: 5).isEmpty)
        #expect(index.count == 3)
        #expect(index.documentFrequency(of: "c") == 3)
    }

    @Test func serializationRoundTripsAndRejectsDamage() throws {
        var index = sample()
        index.add(id: 9, terms: ["x"])
        index.remove(ids: [9])
        let bytes = index.serialized()
        let loaded = try BM25Index(serialized: bytes)
        for query in [["a"], ["b"], ["c"], ["a", "c"]] {
            #expect(loaded.search(terms: query, limit: 5) == index.search(terms: query, limit: 5))
        }
        #expect(loaded.count == 3)
        #expect(throws: SnapshotFormatError.self) { try BM25Index(serialized: Array(bytes.prefix(bytes.count - 3))) }
        #expect(throws: SnapshotFormatError.self) { try BM25Index(serialized: []) }
        var wrongVersion = bytes
        wrongVersion[0] = 99
        #expect(throws: SnapshotFormatError.self) { try BM25Index(serialized: wrongVersion) }
    }
}
