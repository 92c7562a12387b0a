import Foundation
import Knowledge
import Testing
@testable import LocalModels

/// all-MiniLM-L6-v2 run by ares against the reference: sentence-transformers on torch (CPU, fp32)
/// computed the ids and vectors in Fixtures/all-MiniLM-L6-v2-golden.json
/// (bench/embeddings/make_golden_vectors.py). Ours must agree to cosine ≥ 0.999 each.
@Suite struct LocalSentenceEmbedderTests {
    struct Golden: Decodable {
        struct Sentence: Decodable {
            let text: String
            let ids: [Int32]
            let vector: [Float]
        }
        let reference: String
        let maxSeqLength: Int
        let sentences: [Sentence]
    }

    static func golden() throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: LocalModelFixture.fixtures.appendingPathComponent("all-MiniLM-L6-v2-golden.json")))
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var dot: Float = 0, normA: Float = 0, normB: Float = 0
        for index in 0..<min(a.count, b.count) {
            dot += a[index] * b[index]
            normA += a[index] * a[index]
            normB += b[index] * b[index]
        }
        return dot / max((normA * normB).squareRoot(), 1e-12)
    }

    @Test func vectorsMatchTheReferenceForTheGoldenSentences() async throws {
        let golden = try Self.golden()
        let embedder = try await LocalModelFixture.embedder()
        #expect(embedder.dimension == 384)
        #expect(embedder.tokenizer.maximumLength == golden.maxSeqLength)
        let vectors = try await embedder.embed(golden.sentences.map(\.text))
        try #require(vectors.count == golden.sentences.count)
        var lowest: Float = 1
        for (sentence, vector) in zip(golden.sentences, vectors) {
            #expect(embedder.tokenizer.encode(sentence.text) == sentence.ids, "ids of \(sentence.text.debugDescription.prefix(60))")
            let similarity = Self.cosine(vector, sentence.vector)
            lowest = min(lowest, similarity)
            #expect(similarity >= 0.999, "cosine \(similarity) for \(sentence.text.debugDescription.prefix(60))")
        }
        print("local embedder vs \(golden.reference): lowest cosine \(lowest) over \(golden.sentences.count) sentences")
    }

    @Test func vectorsAreUnitLengthDeterministicAndIndependentOfTheirBatch() async throws {
        let golden = try Self.golden()
        let embedder = try await LocalModelFixture.embedder()
        let texts = golden.sentences.map(\.text)
        let batch = try await embedder.embed(texts)
        for vector in batch {
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) < 1e-5)
        }
        // One at a time, in reverse order, and the same text twice in one batch: the same vectors
        // (a short text beside the 256-token one is not padded to its length).
        for (index, text) in texts.enumerated().reversed() {
            let alone = try await embedder.embed([text])
            #expect(Self.cosine(alone[0], batch[index]) > 0.99999, "\(text.debugDescription.prefix(40)) alone vs in the batch")
        }
        let twice = try await embedder.embed([texts[0], texts.last ?? "", texts[0]])
        #expect(Self.cosine(twice[0], twice[2]) > 0.99999)
        #expect(Self.cosine(twice[0], batch[0]) > 0.99999)
        #expect(try await embedder.embed([]).isEmpty)
    }

    /// One short text alone — a query — takes the float32 panel product (`PanelLinear`), not
    /// OpenBLAS: its vector must equal the reference's as the batch's do.
    @Test func aQueryAloneTakesThePanelProductAndMatchesTheReference() async throws {
        let golden = try Self.golden()
        let embedder = try await LocalModelFixture.embedder()
        let short = golden.sentences.filter { $0.ids.count <= BertEncoder.panelRowLimit }
        try #require(short.count >= 10, "the golden sentences include short ones")
        var lowest: Float = 1
        for sentence in short {
            let vector = try await embedder.embed([sentence.text])
            try #require(vector.count == 1)
            let similarity = Self.cosine(vector[0], sentence.vector)
            lowest = min(lowest, similarity)
            #expect(similarity >= 0.999, "cosine \(similarity) for \(sentence.text.debugDescription.prefix(60)) alone")
        }
        print("local embedder, one short text at a time (panel product) vs \(golden.reference): lowest cosine \(lowest) over \(short.count) sentences")
    }

    @Test func int8VectorsStayWithinCosine099OfTheReference() async throws {
        let golden = try Self.golden()
        let embedder = try await LocalModelFixture.embedder(quantization: .int8)
        let float = try await LocalModelFixture.embedder()
        #expect(embedder.identity.contains("-d384-int8-"), "the identity tells int8 vectors from float32 ones: \(embedder.identity)")
        #expect(embedder.identity != float.identity)
        let vectors = try await embedder.embed(golden.sentences.map(\.text))
        try #require(vectors.count == golden.sentences.count)
        var lowest: Float = 1, sum: Float = 0
        for (sentence, vector) in zip(golden.sentences, vectors) {
            let similarity = Self.cosine(vector, sentence.vector)
            lowest = min(lowest, similarity)
            sum += similarity
            #expect(similarity >= 0.99, "int8 cosine \(similarity) for \(sentence.text.debugDescription.prefix(60))")
            #expect(abs(vector.reduce(0) { $0 + $1 * $1 }.squareRoot() - 1) < 1e-5)
        }
        print("local embedder int8 vs \(golden.reference): lowest cosine \(lowest), mean \(sum / Float(vectors.count)) over \(vectors.count) sentences")
        // Batching does not change a vector (per-token quantization: no row sees another's range).
        let alone = try await embedder.embed([golden.sentences[0].text])
        #expect(Self.cosine(alone[0], vectors[0]) > 0.99999)
    }

    @Test func aBatchIsSplitIntoBalancedContiguousGroups() {
        #expect(BertEncoder.partition(lengths: [], into: 2).isEmpty)
        #expect(BertEncoder.partition(lengths: [12], into: 2) == [0..<1])
        // Too few tokens for a second core: one group.
        #expect(BertEncoder.partition(lengths: [10, 12, 9], into: 2) == [0..<3])
        #expect(BertEncoder.partition(lengths: [256, 256, 256, 256], into: 2) == [0..<2, 2..<4])
        #expect(BertEncoder.partition(lengths: [256, 10, 10, 256, 256], into: 2) == [0..<3, 3..<5] || BertEncoder.partition(lengths: [256, 10, 10, 256, 256], into: 2) == [0..<4, 4..<5])
        #expect(BertEncoder.partition(lengths: [256, 256, 256], into: 4) == [0..<1, 1..<2, 2..<3])
        for lengths in [[5, 300, 7, 90, 256, 256, 1, 64], [256, 256], Array(repeating: 100, count: 17)] {
            for workers in 1...5 {
                let groups = BertEncoder.partition(lengths: lengths, into: workers)
                #expect(groups.count <= workers && !groups.isEmpty)
                #expect(groups.first?.lowerBound == 0 && groups.last?.upperBound == lengths.count)
                #expect(zip(groups, groups.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound && !$0.isEmpty })
            }
        }
    }

    @Test func meaningIsCaptured() async throws {
        // A paraphrase is nearer than an unrelated sentence: the model, not just the words.
        let embedder = try await LocalModelFixture.embedder()
        let vectors = try await embedder.embed([
            "How do I restore a database backup?", "Recovering a dump of my database", "The cat sleeps on the sofa.",
        ])
        #expect(Self.cosine(vectors[0], vectors[1]) > Self.cosine(vectors[0], vectors[2]) + 0.2)
        #expect(embedder.capturesMeaning)
        #expect(embedder.identity.hasPrefix("local-all-MiniLM-L6-v2-mean-t256-d384-"))
    }
}
