import COpenBLAS
import Foundation

/// BERT's forward pass on the CPU, and the pooling of its token vectors into unit-length
/// sentence vectors. The matrix products go through OpenBLAS (`cblas_sgemm`).
///
/// Padding is never computed: the token rows of all sequences of a batch are stacked into one
/// matrix for the per-token layers (embeddings, projections, feed-forward, layer norms), and
/// attention — the only step that mixes tokens — runs per sequence over exactly its own
/// tokens. That is what an attention mask achieves in a padded batch (a masked key gets zero
/// weight after the softmax), without the padded rows.
public struct BertEncoder: Sendable {
    public let weights: BertWeights
    public let pooling: SentencePooling.Mode

    public init(weights: BertWeights, pooling: SentencePooling.Mode) {
        self.weights = weights
        self.pooling = pooling
    }

    public var dimension: Int { weights.configuration.hiddenSize }

    /// One unit vector per sequence of token ids (ids outside the vocabulary read as id 0,
    /// sequences longer than the position table are cut to it; the tokenizer produces neither).
    public func encode(_ sequences: [[Int32]]) -> [[Float]] {
        let configuration = weights.configuration
        let hidden = configuration.hiddenSize
        let sequences = sequences.map { $0.prefix(configuration.maximumPositions) }
        var offsets: [Int] = []
        var tokenCount = 0
        for sequence in sequences {
            offsets.append(tokenCount)
            tokenCount += sequence.count
        }
        guard tokenCount > 0 else { return sequences.map { _ in [Float](repeating: 0, count: hidden) } }

        var states = [Float](repeating: 0, count: tokenCount * hidden)
        embed(sequences, offsets: offsets, into: &states)
        var queryKeyValue = [Float](repeating: 0, count: tokenCount * 3 * hidden)
        var context = [Float](repeating: 0, count: tokenCount * hidden)
        var sublayer = [Float](repeating: 0, count: tokenCount * hidden)
        var intermediate = [Float](repeating: 0, count: tokenCount * configuration.intermediateSize)
        let longest = sequences.reduce(0) { max($0, $1.count) }
        var scores = [Float](repeating: 0, count: longest * longest)
        for layer in weights.layers {
            // Self-attention: one product for queries, keys and values of every token.
            Self.linear(states, rows: tokenCount, inputs: hidden, layer.queryKeyValueWeight, layer.queryKeyValueBias,
                        outputs: 3 * hidden, into: &queryKeyValue)
            for (index, sequence) in sequences.enumerated() where !sequence.isEmpty {
                attend(queryKeyValue, sequenceStart: offsets[index], length: sequence.count, scores: &scores, into: &context)
            }
            // Output projection, residual, layer norm.
            sublayer = states
            Self.linear(context, rows: tokenCount, inputs: hidden, layer.attentionOutputWeight, layer.attentionOutputBias,
                        outputs: hidden, into: &sublayer, accumulate: true)
            Self.layerNorm(&sublayer, rows: tokenCount, width: hidden, layer.attentionNormWeight, layer.attentionNormBias,
                           epsilon: configuration.layerNormEpsilon)
            swap(&states, &sublayer)
            // Feed-forward: expand, activate, project back, residual, layer norm.
            Self.linear(states, rows: tokenCount, inputs: hidden, layer.intermediateWeight, layer.intermediateBias,
                        outputs: configuration.intermediateSize, into: &intermediate)
            Self.activate(&intermediate, configuration.activation)
            sublayer = states
            Self.linear(intermediate, rows: tokenCount, inputs: configuration.intermediateSize, layer.outputWeight, layer.outputBias,
                        outputs: hidden, into: &sublayer, accumulate: true)
            Self.layerNorm(&sublayer, rows: tokenCount, width: hidden, layer.outputNormWeight, layer.outputNormBias,
                           epsilon: configuration.layerNormEpsilon)
            swap(&states, &sublayer)
        }
        return sequences.indices.map { index in pool(states, start: offsets[index], length: sequences[index].count) }
    }

    /// Word + position + token-type (type 0: one segment) embeddings, then layer norm.
    private func embed(_ sequences: [ArraySlice<Int32>], offsets: [Int], into states: inout [Float]) {
        let configuration = weights.configuration
        let hidden = configuration.hiddenSize
        states.withUnsafeMutableBufferPointer { output in
            weights.wordEmbeddings.withUnsafeBufferPointer { words in
                weights.positionEmbeddings.withUnsafeBufferPointer { positions in
                    weights.tokenTypeEmbeddings.withUnsafeBufferPointer { types in
                        for (index, sequence) in sequences.enumerated() {
                            for (position, token) in sequence.enumerated() {
                                let id = token >= 0 && Int(token) < configuration.vocabularySize ? Int(token) : 0
                                let row = (offsets[index] + position) * hidden
                                for column in 0..<hidden {
                                    output[row + column] = words[id * hidden + column] + positions[position * hidden + column] + types[column]
                                }
                            }
                        }
                    }
                }
            }
        }
        let rows = states.count / hidden
        Self.layerNorm(&states, rows: rows, width: hidden, weights.embeddingNormWeight, weights.embeddingNormBias, epsilon: configuration.layerNormEpsilon)
    }

    /// Multi-head scaled dot-product attention of one sequence (rows `sequenceStart ..<
    /// sequenceStart + length` of the stacked queries, keys and values), written into the same
    /// rows of `context`, head by head.
    private func attend(_ queryKeyValue: [Float], sequenceStart: Int, length: Int, scores: inout [Float], into context: inout [Float]) {
        let configuration = weights.configuration
        let hidden = configuration.hiddenSize, headSize = configuration.headSize
        let stride = 3 * hidden
        let scale = 1 / Float(headSize).squareRoot()
        queryKeyValue.withUnsafeBufferPointer { qkv in
            scores.withUnsafeMutableBufferPointer { scores in
                context.withUnsafeMutableBufferPointer { context in
                    guard let qkvBase = qkv.baseAddress, let scoreBase = scores.baseAddress, let contextBase = context.baseAddress else { return }
                    for head in 0..<configuration.headCount {
                        let queries = qkvBase + sequenceStart * stride + head * headSize
                        let keys = queries + hidden
                        let values = queries + 2 * hidden
                        // scores = Q·Kᵀ / √d
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas(length), blas(length), blas(headSize),
                                    scale, queries, blas(stride), keys, blas(stride), 0, scoreBase, blas(length))
                        Self.softmaxRows(scoreBase, rows: length, width: length)
                        // context = softmax(scores)·V
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blas(length), blas(headSize), blas(length),
                                    1, scoreBase, blas(length), values, blas(stride), 0,
                                    contextBase + sequenceStart * hidden + head * headSize, blas(hidden))
                    }
                }
            }
        }
    }

    /// The sentence vector of one sequence's final token vectors, scaled to unit length.
    private func pool(_ states: [Float], start: Int, length: Int) -> [Float] {
        let hidden = weights.configuration.hiddenSize
        var vector = [Float](repeating: 0, count: hidden)
        guard length > 0 else { return vector }
        states.withUnsafeBufferPointer { states in
            switch pooling {
            case .classifierToken:
                for column in 0..<hidden { vector[column] = states[start * hidden + column] }
            case .mean:
                for row in start..<(start + length) {
                    for column in 0..<hidden { vector[column] += states[row * hidden + column] }
                }
                let scale = 1 / Float(length)
                for column in 0..<hidden { vector[column] *= scale }
            }
        }
        var norm: Float = 0
        for value in vector { norm += value * value }
        // sentence-transformers' Normalize divides by max(‖v‖, 1e-12).
        let scale = 1 / max(norm.squareRoot(), 1e-12)
        for column in 0..<hidden { vector[column] *= scale }
        return vector
    }

    // MARK: - Kernels

    /// `output[rows × outputs] = input[rows × inputs] · weightᵀ + bias`, or `+=` the product and
    /// the bias when `accumulate` (the residual connection is already in `output`).
    static func linear(_ input: [Float], rows: Int, inputs: Int, _ weight: [Float], _ bias: [Float], outputs: Int,
                       into output: inout [Float], accumulate: Bool = false) {
        output.withUnsafeMutableBufferPointer { output in
            bias.withUnsafeBufferPointer { bias in
                for row in 0..<rows {
                    let base = row * outputs
                    if accumulate {
                        for column in 0..<outputs { output[base + column] += bias[column] }
                    } else {
                        for column in 0..<outputs { output[base + column] = bias[column] }
                    }
                }
            }
            input.withUnsafeBufferPointer { input in
                weight.withUnsafeBufferPointer { weight in
                    guard let a = input.baseAddress, let b = weight.baseAddress, let c = output.baseAddress else { return }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas(rows), blas(outputs), blas(inputs),
                                1, a, blas(inputs), b, blas(inputs), 1, c, blas(outputs))
                }
            }
        }
    }

    /// Layer normalization of each row: zero mean, unit variance (biased, as PyTorch), then
    /// scaled by `weight` and shifted by `bias`.
    static func layerNorm(_ values: inout [Float], rows: Int, width: Int, _ weight: [Float], _ bias: [Float], epsilon: Float) {
        values.withUnsafeMutableBufferPointer { values in
            weight.withUnsafeBufferPointer { weight in
                bias.withUnsafeBufferPointer { bias in
                    for row in 0..<rows {
                        let base = row * width
                        var sum: Float = 0
                        for column in 0..<width { sum += values[base + column] }
                        let mean = sum / Float(width)
                        var squares: Float = 0
                        for column in 0..<width {
                            let centered = values[base + column] - mean
                            squares += centered * centered
                        }
                        let inverse = 1 / (squares / Float(width) + epsilon).squareRoot()
                        for column in 0..<width {
                            values[base + column] = (values[base + column] - mean) * inverse * weight[column] + bias[column]
                        }
                    }
                }
            }
        }
    }

    static func softmaxRows(_ values: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        for row in 0..<rows {
            let base = values + row * width
            var largest = -Float.infinity
            for column in 0..<width { largest = max(largest, base[column]) }
            let shift = VectorMath.Lanes(repeating: largest)
            VectorMath.map(base, count: width) { VectorMath.exp($0 - shift) }
            var sum: Float = 0
            for column in 0..<width { sum += base[column] }
            let scale = 1 / sum
            for column in 0..<width { base[column] *= scale }
        }
    }

    static func activate(_ values: inout [Float], _ activation: BertConfiguration.Activation) {
        values.withUnsafeMutableBufferPointer { values in
            guard let base = values.baseAddress else { return }
            switch activation {
            case .gelu:
                // x·Φ(x) = x/2 · (1 + erf(x/√2))
                VectorMath.map(base, count: values.count) { x in 0.5 * x * (1 + VectorMath.erf(x * 0.707_106_77)) }
            case .geluTanh:
                // tanh(u) = 1 - 2/(e^{2u} + 1)
                VectorMath.map(base, count: values.count) { x in
                    let u = 0.797_884_56 * (x + 0.044_715 * x * x * x)
                    return 0.5 * x * (2 - 2 / (VectorMath.exp(2 * u) + 1))
                }
            }
        }
    }
}

/// A dimension for CBLAS (32-bit in Debian's OpenBLAS). Every dimension passed is bounded by
/// the checked model configuration and the batch's token budget, far below Int32.max.
@inline(__always)
private func blas(_ value: Int) -> Int32 {
    Int32(clamping: value)
}
