import BinaryCoding
import Foundation
import Testing
@testable import Knowledge

/// Vectors shaped like embeddings (a low-dimensional latent space mixed up to `dimension`, plus
/// a little noise), generated deterministically so failures reproduce.
private struct EmbeddingLikeVectors {
    let dimension: Int
    let intrinsic: Int
    private let mixing: [[Float]]
    private var generator: HNSWSplitMix64

    init(dimension: Int = 32, intrinsic: Int = 8, seed: UInt64 = 7) {
        self.dimension = dimension
        self.intrinsic = intrinsic
        generator = HNSWSplitMix64(seed: seed)
        var rows: [[Float]] = []
        for _ in 0..<intrinsic {
            var row: [Float] = []
            for _ in 0..<dimension { row.append(EmbeddingLikeVectors.gaussian(&generator)) }
            rows.append(row)
        }
        mixing = rows
    }

    mutating func next() -> [Float] {
        var vector = [Float](repeating: 0, count: dimension)
        for row in mixing {
            let weight = EmbeddingLikeVectors.gaussian(&generator)
            for index in 0..<dimension { vector[index] += weight * row[index] }
        }
        for index in 0..<dimension { vector[index] += 0.05 * EmbeddingLikeVectors.gaussian(&generator) }
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return vector.map { $0 / norm }
    }

    mutating func make(_ count: Int) -> [[Float]] {
        (0..<count).map { _ in next() }
    }

    private static func gaussian(_ generator: inout HNSWSplitMix64) -> Float {
        // Box–Muller on two uniforms in (0, 1].
        let u1 = (Double(generator.next() >> 11) + 1) * 0x1p-53
        let u2 = Double(generator.next() >> 11) * 0x1p-53
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

private func cosineDistance(_ a: [Float], _ b: [Float]) -> Float {
    var dot: Float = 0
    for index in a.indices { dot += a[index] * b[index] }
    return 1 - dot
}

/// Exact top-k by cosine distance over the given (id, vector) pairs.
private func bruteForce(_ query: [Float], _ items: [(id: UInt64, vector: [Float])], k: Int) -> [UInt64] {
    let scored: [(id: UInt64, distance: Float)] = items.map { (id: $0.id, distance: cosineDistance(query, $0.vector)) }
    let sorted = scored.sorted { $0.distance < $1.distance || ($0.distance == $1.distance && $0.id < $1.id) }
    return sorted.prefix(k).map(\.id)
}

private func recallAt10(_ index: HNSWIndex, queries: [[Float]], items: [(id: UInt64, vector: [Float])], efSearch: Int = 64) -> Double {
    var hits = 0
    for query in queries {
        let expected = Set(bruteForce(query, items, k: 10))
        hits += index.search(query, k: 10, efSearch: efSearch).filter { expected.contains($0.id) }.count
    }
    return Double(hits) / Double(queries.count * 10)
}

/// Small enough for a debug build, large enough that a broken graph shows in recall.
private enum Fixture {
    static let parameters = HNSWParameters(m: 12, efConstruction: 64, efSearch: 48)
    static let items: [(id: UInt64, vector: [Float])] = {
        var source = EmbeddingLikeVectors(seed: 11)
        return source.make(2_000).enumerated().map { (id: UInt64($0.offset) * 3 + 1, vector: $0.element) }
    }()
    static let queries: [[Float]] = {
        var source = EmbeddingLikeVectors(seed: 11)
        _ = source.make(2_000)  // same mixing matrix, fresh points
        return source.make(40)
    }()
    /// Built once (single-threaded, so deterministic) and only read by the tests that share it.
    static let index: HNSWIndex = {
        let index = HNSWIndex(dimension: 32, parameters: parameters, seed: 5)
        for item in items {
            do { try index.insert(id: item.id, vector: item.vector) } catch { Issue.record(error) }
        }
        return index
    }()

    static func freshIndex(count: Int = 600, threads: Int = 1) throws -> HNSWIndex {
        let index = HNSWIndex(dimension: 32, parameters: parameters, seed: 5)
        try index.insert(batch: Array(items.prefix(count)), threads: threads)
        return index
    }
}

@Suite("HNSW index")
struct HNSWIndexTests {
    @Test("recall@10 against brute force is at least 0.9")
    func recall() {
        #expect(Fixture.index.count == Fixture.items.count)
        let recall = recallAt10(Fixture.index, queries: Fixture.queries, items: Fixture.items)
        #expect(recall >= 0.9, "recall@10 = \(recall)")
    }

    @Test("an indexed vector finds itself first, at distance ~0")
    func exactMatch() {
        for item in Fixture.items.prefix(50) {
            let hit = Fixture.index.search(item.vector, k: 1).first
            #expect(hit?.id == item.id)
            #expect(abs(hit?.distance ?? 1) < 1e-5)
        }
    }

    @Test("results are sorted nearest first and distances are cosine distances")
    func resultOrder() throws {
        let query = Fixture.queries[0]
        let results = Fixture.index.search(query, k: 10)
        #expect(results.count == 10)
        #expect(zip(results, results.dropFirst()).allSatisfy { $0.distance <= $1.distance })
        for result in results {
            let item = try #require(Fixture.items.first { $0.id == result.id })
            let expected = cosineDistance(query, item.vector)
            #expect(abs(result.distance - expected) < 1e-4)
        }
    }

    @Test("removed ids never come back and the rest stays findable")
    func removal() throws {
        let index = try Fixture.freshIndex()
        let items = Array(Fixture.items.prefix(600))
        let removed = Set(items.enumerated().filter { $0.offset % 3 == 0 }.map(\.element.id))
        for id in removed { index.remove(id: id) }
        index.remove(id: 999_999_999)  // unknown ids are ignored
        #expect(index.count == items.count - removed.count)
        #expect(index.deletedCount == removed.count)
        #expect(index.vector(id: items[0].id) == nil)
        #expect(index.vector(id: items[1].id).map { zip($0, items[1].vector).allSatisfy { abs($0 - $1) < 1e-6 } } == true)
        let remaining = items.filter { !removed.contains($0.id) }
        for query in Fixture.queries + items.prefix(30).map(\.vector) {
            #expect(index.search(query, k: 20).allSatisfy { !removed.contains($0.id) })
        }
        for item in remaining.prefix(40) {
            #expect(index.search(item.vector, k: 1).first?.id == item.id)
        }
        #expect(recallAt10(index, queries: Fixture.queries, items: remaining) >= 0.9)
        #expect(!index.contains(id: items[0].id) && index.contains(id: items[1].id))
    }

    @Test("removing every vector leaves an index that returns nothing")
    func removeAll() throws {
        let index = try Fixture.freshIndex(count: 50)
        for item in Fixture.items.prefix(50) { index.remove(id: item.id) }
        #expect(index.count == 0)
        #expect(index.search(Fixture.queries[0], k: 5).isEmpty)
        try index.insert(id: 7, vector: Fixture.queries[1])
        #expect(index.search(Fixture.queries[1], k: 5).map(\.id) == [7])
    }

    @Test("inserting an existing id replaces its vector")
    func replace() throws {
        let index = try Fixture.freshIndex(count: 300)
        let target = Fixture.items[10]
        let replacement = Fixture.queries[5]
        try index.insert(id: target.id, vector: replacement)
        #expect(index.count == 300)
        #expect(index.search(replacement, k: 1).first?.id == target.id)
        let nearOld = index.search(target.vector, k: 5)
        #expect(!nearOld.contains { $0.id == target.id && $0.distance < 1e-4 })
        #expect(nearOld.filter { $0.id == target.id }.count <= 1)
    }

    @Test("bad vectors throw and leave the index unchanged")
    func invalidInput() throws {
        let index = try Fixture.freshIndex(count: 20)
        var wrong = Fixture.queries[0]
        wrong.removeLast()
        #expect(throws: HNSWIndexError.dimensionMismatch(id: 1, expected: 32, actual: 31)) {
            try index.insert(id: 1, vector: wrong)
        }
        var nan = Fixture.queries[0]
        nan[3] = .nan
        #expect(throws: HNSWIndexError.nonFiniteValue(id: 2)) { try index.insert(id: 2, vector: nan) }
        var infinite = Fixture.queries[0]
        infinite[0] = .infinity
        #expect(throws: HNSWIndexError.nonFiniteValue(id: 3)) { try index.insert(id: 3, vector: infinite) }
        // One bad vector in a batch rejects the whole batch.
        #expect(throws: HNSWIndexError.self) {
            try index.insert(batch: [(id: 100, vector: Fixture.queries[1]), (id: 101, vector: nan)], threads: 2)
        }
        #expect(index.count == 20)
        #expect(!index.contains(id: 100))
        // Queries that can't be compared return nothing rather than trapping.
        #expect(index.search(wrong, k: 3).isEmpty)
        #expect(index.search(nan, k: 3).isEmpty)
        #expect(index.search(Fixture.queries[0], k: 0).isEmpty)
        #expect(index.search([Float](repeating: 0, count: 32), k: 3).isEmpty)
    }

    @Test("zero vectors (embeddings of empty text) are kept, at distance 1 from everything")
    func zeroVector() throws {
        let index = try Fixture.freshIndex(count: 5)
        try index.insert(id: 4_242, vector: [Float](repeating: 0, count: 32))
        #expect(index.count == 6)
        let results = index.search(Fixture.queries[0], k: 10)
        #expect(results.count == 6)
        #expect(results.first { $0.id == 4_242 }?.distance == 1)
        // Tiny and huge (but finite) vectors still normalize.
        try index.insert(id: 1, vector: Fixture.queries[1].map { $0 * 1e-30 })
        try index.insert(id: 2, vector: Fixture.queries[2].map { $0 * 1e30 })
        #expect(index.search(Fixture.queries[1], k: 1).first?.id == 1)
        #expect(index.search(Fixture.queries[2], k: 1).first?.id == 2)
        #expect(abs((index.search(Fixture.queries[2], k: 1).first?.distance ?? 1)) < 1e-5)
    }

    @Test("an empty index returns no results")
    func emptyIndex() {
        let index = HNSWIndex(dimension: 32)
        #expect(index.count == 0)
        #expect(index.search(Fixture.queries[0], k: 10).isEmpty)
        let reloaded = try? HNSWIndex(serialized: index.serialized())
        #expect(reloaded?.search(Fixture.queries[0], k: 10).isEmpty == true)
    }

    @Test("k larger than the index returns every live vector, sorted")
    func largeK() throws {
        let index = try Fixture.freshIndex(count: 25)
        index.remove(id: Fixture.items[0].id)
        let results = index.search(Fixture.queries[0], k: 100)
        #expect(results.count == 24)
        #expect(Set(results.map(\.id)) == Set(Fixture.items[1..<25].map(\.id)))
        #expect(zip(results, results.dropFirst()).allSatisfy { $0.distance <= $1.distance })
    }

    @Test("exact search is brute force over the live vectors")
    func exactSearchMatchesBruteForce() throws {
        let index = try Fixture.freshIndex(count: 600)
        let removed = Set(Fixture.items.prefix(600).enumerated().filter { $0.offset % 7 == 0 }.map(\.element.id))
        for id in removed { index.remove(id: id) }
        let live = Fixture.items.prefix(600).filter { !removed.contains($0.id) }
        for query in Fixture.queries {
            let results = index.exactSearch(query, k: 10)
            #expect(results.map(\.id) == bruteForce(query, Array(live), k: 10))
            #expect(zip(results, results.dropFirst()).allSatisfy { $0.distance <= $1.distance })
        }
        #expect(index.exactSearch(Fixture.queries[0], k: 0).isEmpty)
        #expect(index.exactSearch([Float](repeating: 0, count: 32), k: 5).isEmpty)
        #expect(index.exactSearch([1, 2], k: 5).isEmpty)
    }

    /// Near-identical vectors are where pruning can leave a node with no incoming link; the
    /// knowledge base met this with 61 copies of one passage (60 came back in 2 of 12 builds).
    @Test("asking for every vector returns every vector, even among near-identical ones")
    func everyVectorAmongNearDuplicates() throws {
        for seed in UInt64(0)..<24 {
            var noise = HNSWSplitMix64(seed: seed)
            let base = Fixture.items[0].vector
            let index = HNSWIndex(dimension: 32, parameters: HNSWParameters(m: 4, efConstruction: 8, efSearch: 8), seed: seed)
            for id in UInt64(0)..<61 {
                let vector = base.map { $0 + Float(Double(noise.next() >> 11) * 0x1p-53 - 0.5) * 1e-4 }
                try index.insert(id: id, vector: vector)
            }
            let all = index.search(base, k: 61)
            #expect(Set(all.map(\.id)) == Set(0..<61), "seed \(seed): \(all.count) of 61")
        }
    }

    @Test("serialize then reload gives an identical index")
    func roundTrip() throws {
        let index = try Fixture.freshIndex()
        index.remove(id: Fixture.items[3].id)
        let bytes = index.serialized()
        let reloaded = try HNSWIndex(serialized: bytes)
        #expect(reloaded.count == index.count)
        #expect(reloaded.dimension == index.dimension)
        #expect(reloaded.parameters == index.parameters)
        for query in Fixture.queries {
            #expect(reloaded.search(query, k: 10, efSearch: 32) == index.search(query, k: 10, efSearch: 32))
        }
        #expect(reloaded.serialized() == bytes)
        // The level generator's state travels with the image: further inserts match too.
        try index.insert(id: 5_000, vector: Fixture.queries[0])
        try reloaded.insert(id: 5_000, vector: Fixture.queries[0])
        #expect(reloaded.serialized() == index.serialized())
    }

    @Test("truncated data throws instead of crashing")
    func truncated() throws {
        let bytes = try Fixture.freshIndex(count: 100).serialized()
        for length in [0, 5, 8, 63, 64, 71, 72, 200, bytes.count / 2, bytes.count - 8, bytes.count - 1] {
            #expect(throws: HNSWIndexError.self) { try HNSWIndex(serialized: Array(bytes.prefix(length))) }
        }
        #expect(throws: HNSWIndexError.truncatedData(expectedBytes: bytes.count, actualBytes: bytes.count - 1)) {
            try HNSWIndex(serialized: Array(bytes.dropLast()))
        }
        #expect(throws: HNSWIndexError.self) { try HNSWIndex(serialized: bytes + [0]) }
    }

    @Test("a flipped bit anywhere throws instead of crashing")
    func bitFlips() throws {
        let bytes = try Fixture.freshIndex(count: 100).serialized()
        var positions = Array(0..<72)  // the whole header and the start of the payload
        positions += stride(from: 72, to: bytes.count, by: max(1, bytes.count / 300))
        positions.append(bytes.count - 1)
        for position in positions {
            var damaged = bytes
            damaged[position] ^= 1 << UInt8(position % 8)
            #expect(throws: HNSWIndexError.self, "bit flip at byte \(position)") { try HNSWIndex(serialized: damaged) }
        }
        var notIndex = bytes
        notIndex[0] = UInt8(ascii: "X")
        #expect(throws: HNSWIndexError.notAnIndex) { try HNSWIndex(serialized: notIndex) }
        var future = bytes
        future[8] = 2
        #expect(throws: HNSWIndexError.unsupportedVersion(found: 2, supported: 1)) { try HNSWIndex(serialized: future) }
    }

    @Test("structurally invalid data with a valid checksum throws")
    func forgedChecksum() throws {
        let index = try Fixture.freshIndex(count: 100)
        let bytes = index.serialized()
        // Level-0 lists start after ids (8/node), levels and flags (1+1/node), padding and vectors.
        let nodes = 100
        let level0Start = 64 + nodes * 10 + HNSWFormatLayout.padding(nodeCount: nodes) + nodes * 32 * 4
        var forged = bytes
        // Point node 0's first neighbour at a node that doesn't exist.
        forged.replaceSubrange((level0Start + 4)..<(level0Start + 8), with: [0xFF, 0xFF, 0x00, 0x00])
        resign(&forged)
        #expect(throws: HNSWIndexError.self) { try HNSWIndex(serialized: forged) }
        var overfull = bytes
        overfull.replaceSubrange(level0Start..<(level0Start + 4), with: [200, 0, 0, 0])
        resign(&overfull)
        #expect(throws: HNSWIndexError.self) { try HNSWIndex(serialized: overfull) }
        var hugeCount = bytes
        hugeCount.replaceSubrange(32..<36, with: [0xFF, 0xFF, 0xFF, 0x7F])
        resign(&hugeCount)
        #expect(throws: HNSWIndexError.self) { try HNSWIndex(serialized: hugeCount) }
    }

    private func resign(_ bytes: inout [UInt8]) {
        let body = bytes.count - 8
        let checksum = bytes.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<body])) }
        for byte in 0..<8 { bytes[body + byte] = UInt8(truncatingIfNeeded: checksum >> (8 * UInt64(byte))) }
    }

    @Test("concurrent searches return what sequential searches return")
    func concurrentSearches() async {
        let index = Fixture.index
        let queries = Fixture.queries
        let expected = queries.map { index.search($0, k: 10) }
        let results = await withTaskGroup(of: [[VectorSearchResult]].self) { group in
            for _ in 0..<6 {
                group.addTask { queries.map { index.search($0, k: 10) } }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 6)
        for result in results { #expect(result == expected) }
    }

    @Test("a batch built on two threads reaches the same recall")
    func parallelBatch() throws {
        let items = Array(Fixture.items.prefix(1_200))
        let index = try Fixture.freshIndex(count: 1_200, threads: 2)
        #expect(index.count == 1_200)
        #expect(items.allSatisfy { index.contains(id: $0.id) })
        let recall = recallAt10(index, queries: Fixture.queries, items: items)
        #expect(recall >= 0.9, "recall@10 = \(recall)")
        // A second parallel batch on a non-empty index, with a repeated id (the last one wins).
        let extra = Array(Fixture.items[1_200..<1_400]) + [(id: items[0].id, vector: Fixture.queries[2])]
        try index.insert(batch: extra, threads: 2)
        #expect(index.count == 1_400)
        #expect(index.search(Fixture.queries[2], k: 1).first?.id == items[0].id)
    }

    @Test("the SIMD dot product matches a scalar one at every length")
    func dotProduct() {
        var source = EmbeddingLikeVectors(dimension: 70, intrinsic: 4, seed: 3)
        let a = source.next(), b = source.next()
        for count in [0, 1, 15, 16, 17, 31, 32, 33, 64, 70] {
            let scalar = 1 - cosineDistance(Array(a.prefix(count)), Array(b.prefix(count)))
            let simd = a.withUnsafeBufferPointer { left in
                b.withUnsafeBufferPointer { right -> Float in
                    guard let left = left.baseAddress, let right = right.baseAddress else { return .nan }
                    return VectorMath.dot(left, right, count: count)
                }
            }
            #expect(abs(simd - scalar) < 1e-5, "length \(count)")
        }
    }
}

@Suite struct HNSWIndexCopyTests {
    @Test func aCopyIsTheSameIndexInStorageOfItsOwn() throws {
        let index = HNSWIndex(dimension: 4, parameters: HNSWParameters(m: 4, efConstruction: 16), seed: 3)
        let vectors: [[Float]] = (0..<200).map { (i: Int) -> [Float] in
            (0..<4).map { (j: Int) -> Float in Float((i * 13 + j * 7) % 23) - 11 }
        }
        try index.insert(batch: vectors.enumerated().map { (id: UInt64($0.offset), vector: $0.element) }, threads: 1)
        index.remove(id: 7)
        let copy = index.copy()
        #expect(copy.serialized() == index.serialized())
        #expect(copy.search(vectors[42], k: 5) == index.search(vectors[42], k: 5))

        // Changing the copy leaves the original as it was, and the copy draws the same levels next.
        let before = index.serialized()
        try copy.insert(id: 1_000, vector: [1, 2, 3, 4])
        copy.remove(id: 42)
        #expect(index.serialized() == before)
        #expect(index.contains(id: 42) && !copy.contains(id: 42) && !index.contains(id: 1_000))
        try index.insert(id: 1_000, vector: [1, 2, 3, 4])
        index.remove(id: 42)
        #expect(copy.serialized() == index.serialized())
        #expect(HNSWIndex(dimension: 4).copy().count == 0)
    }
}
