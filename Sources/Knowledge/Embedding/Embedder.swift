/// Turns texts into vectors for the vector index. Implementations must return unit-length
/// vectors of `dimension` floats, one per input, in input order.
public protocol Embedder: Sendable {
    /// Names the model and its settings. Vectors from embedders with different identities
    /// are not comparable; the knowledge base records it and re-embeds when it changes.
    var identity: String { get }
    var dimension: Int { get }
    func embed(_ texts: [String]) async throws -> [[Float]]
    /// How much this embedder's ranking counts against BM25's (weight 1) in hybrid search.
    var fusionWeight: Double { get }
    /// Whether its vectors say what a text means beyond the words in it (a trained model),
    /// so that researchers can score sentences with it.
    var capturesMeaning: Bool { get }
}

extension Embedder {
    /// A sentence-embedding model ranks by meaning, which BM25 cannot: its ranking leads.
    /// Measured with all-MiniLM-L6-v2 on both PostgreSQL question sets (BENCHMARKS.md).
    public var fusionWeight: Double { 2 }
    public var capturesMeaning: Bool { true }
}

/// Helpers every embedder uses.
public enum VectorNormalization {
    /// Scales `vector` to unit length in place; a zero vector stays zero.
    public static func normalize(_ vector: inout [Float]) {
        var sum: Float = 0
        for value in vector { sum += value * value }
        guard sum > 0 else { return }
        let scale = 1 / sum.squareRoot()
        for index in vector.indices { vector[index] *= scale }
    }

    /// Dot product (= cosine similarity for unit vectors).
    public static func dot(_ a: [Float], _ b: [Float]) -> Float {
        var sum: Float = 0
        for index in 0..<min(a.count, b.count) { sum += a[index] * b[index] }
        return sum
    }
}
