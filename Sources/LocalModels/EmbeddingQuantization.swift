/// How the local model's linear layers compute (`--embedding-quantization`).
public enum EmbeddingQuantization: String, Sendable, CaseIterable {
    /// float32 weights and products, through OpenBLAS: the reference's numbers (cosine ≥ 0.999).
    case none
    /// 8-bit weights (per output row) and activations (per token): a quarter of the weight
    /// memory traffic and, with AVX-512 VNNI, about four times the multiply-adds per
    /// instruction; vectors stay within cosine 0.99 of the reference (BENCHMARKS.md).
    case int8
}
