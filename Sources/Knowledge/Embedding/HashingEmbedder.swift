/// The built-in embedder: needs no model file and no network, and is deterministic.
///
/// Each text becomes a bag of hashed features: its analyzed terms (stemmed, stop words
/// removed), adjacent term pairs, and character trigrams of each term. Trigrams let a query
/// meet related word forms and identifiers that share most of their letters (`vacuumdb`,
/// `vacuum`); pairs reward phrases. Features are hashed into `dimension` buckets with a
/// random sign (the "hashing trick", which keeps collisions unbiased), dampened by a signed
/// square root so that one repeated word does not dominate, and normalized to unit length.
public struct HashingEmbedder: Embedder {
    public let dimension: Int
    private let analyzer: TextAnalyzer
    private let termWeight: Float = 1.0
    private let pairWeight: Float = 0.5
    private let trigramWeight: Float = 0.35

    public init(dimension: Int = 256) {
        self.dimension = max(8, dimension)
        self.analyzer = TextAnalyzer()
    }

    public var identity: String { "builtin-hashing-v1-d\(dimension)" }

    /// Hashed words and word pairs see the words BM25 sees, weighted worse: as an equal
    /// partner in fusion they lowered Recall@5 on questions the team had not tuned on
    /// (0.589 → 0.467, BENCHMARKS.md), so in hybrid search they only break BM25's near-ties.
    public var fusionWeight: Double { 0.1 }
    public var capturesMeaning: Bool { false }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        texts.map(embedOne)
    }

    /// Synchronous embedding, used on hot paths (query time).
    public func embedOne(_ text: String) -> [Float] {
        embed(terms: analyzer.terms(text))
    }

    /// The embedding of text already analyzed by `TextAnalyzer()` (ingest has the terms at
    /// hand for BM25, so the text is not analyzed twice).
    public func embed(terms: [String]) -> [Float] {
        var vector = [Float](repeating: 0, count: dimension)
        var previousTermHash: UInt64 = 0
        var hasPrevious = false
        vector.withUnsafeMutableBufferPointer { buffer in
            for term in terms {
                let termHash = FastHash.fnv1a(term)
                add(termHash, weight: termWeight, to: buffer)
                if hasPrevious {
                    add(FastHash.mix(previousTermHash &* 31 &+ termHash), weight: pairWeight, to: buffer)
                }
                previousTermHash = termHash
                hasPrevious = true
                addTrigrams(of: term, to: buffer)
            }
            for index in 0..<buffer.count {
                let value = buffer[index]
                buffer[index] = value < 0 ? -(-value).squareRoot() : value.squareRoot()
            }
        }
        VectorNormalization.normalize(&vector)
        return vector
    }

    private func addTrigrams(of term: String, to buffer: UnsafeMutableBufferPointer<Float>) {
        let bytes = Array(term.utf8)
        // Boundary markers make prefixes and suffixes distinct trigrams.
        var padded: [UInt8] = [0x23]
        padded.append(contentsOf: bytes)
        padded.append(0x23)
        guard padded.count >= 3 else { return }
        let count = padded.count - 2
        let weight = trigramWeight / Float(count).squareRoot()
        for start in 0..<count {
            var hash: UInt64 = 0x5bd1_e995
            hash = (hash ^ UInt64(padded[start])) &* 0x0000_0100_0000_01b3
            hash = (hash ^ UInt64(padded[start + 1])) &* 0x0000_0100_0000_01b3
            hash = (hash ^ UInt64(padded[start + 2])) &* 0x0000_0100_0000_01b3
            add(FastHash.mix(hash), weight: weight, to: buffer)
        }
    }

    @inline(__always)
    private func add(_ hash: UInt64, weight: Float, to buffer: UnsafeMutableBufferPointer<Float>) {
        let mixed = FastHash.mix(hash)
        let bucket = Int(mixed % UInt64(buffer.count))
        buffer[bucket] += (mixed >> 63) == 0 ? weight : -weight
    }
}
