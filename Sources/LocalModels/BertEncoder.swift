import CLocalModelKernels
import COpenBLAS
import Foundation
import Synchronization

/// BERT's forward pass on the CPU, and the pooling of its token vectors into unit-length
/// sentence vectors. The matrix products go through OpenBLAS (`cblas_sgemm`), except a few
/// rows' float32 linear layers (`PanelLinear`), the int8 layers (`QuantizedLinear`) and, on
/// CPUs with AVX-512, the attention (`lmk_attention`).
///
/// Padding is never computed: the token rows of all sequences of a batch are stacked into one
/// matrix for the per-token layers (embeddings, projections, feed-forward, layer norms), and
/// attention — the only step that mixes tokens — runs per sequence over exactly its own
/// tokens. That is what an attention mask achieves in a padded batch (a masked key gets zero
/// weight after the softmax), without the padded rows.
public struct BertEncoder: Sendable {
    public let weights: BertWeights
    public let pooling: SentencePooling.Mode

    public let quantization: EmbeddingQuantization
    /// The linear layers in 8 bits, per encoder layer, when `quantization` is int8.
    let quantizedLayers: [LayerProducts<QuantizedLinear>]

    /// The float32 linear layers packed for the panel product, per encoder layer, when
    /// `quantization` is none: a second copy of the layers' weights (42 MB for MiniLM), kept so
    /// that a query does not pay for sgemm's packing, and for every batch with AVX-512
    /// (`PanelLinear`, `panelForEveryBatch`).
    let panelLayers: [LayerProducts<PanelLinear>]

    /// The four products of one encoder layer, prepared at load in one of the kernels' layouts.
    struct LayerProducts<Linear: Sendable>: Sendable {
        let queryKeyValue: Linear
        let attentionOutput: Linear
        let intermediate: Linear
        let output: Linear

        /// `make(weight, bias, outputs, inputs)` prepares one product from PyTorch's layout.
        init(_ layer: BertWeights.Layer, hidden: Int, intermediate size: Int, _ make: ([Float], [Float], Int, Int) -> Linear) {
            queryKeyValue = make(layer.queryKeyValueWeight, layer.queryKeyValueBias, 3 * hidden, hidden)
            attentionOutput = make(layer.attentionOutputWeight, layer.attentionOutputBias, hidden, hidden)
            intermediate = make(layer.intermediateWeight, layer.intermediateBias, size, hidden)
            output = make(layer.outputWeight, layer.outputBias, hidden, size)
        }
    }

    /// Up to this many token rows in a forward pass, the float32 layers use the panel product;
    /// above, OpenBLAS, whose packing of the weights is then shared by enough rows to pay off.
    /// Measured with `ares-bench embeddings` (BENCHMARKS.md, "the float32 query kernel").
    static let panelRowLimit = 64

    /// With AVX-512 the panel product takes every batch, however many rows: 500 passages embed
    /// at 57 passages/s against 35 with sgemm, whose kernels Debian's OpenBLAS 0.3.21 picks for
    /// AVX2 on this CPU and which packs the weights on every call (BENCHMARKS.md, "Ingest with
    /// the model"). Without AVX-512 the panel product is the portable loop, and OpenBLAS wins
    /// above `panelRowLimit` rows.
    static let panelForEveryBatch = lmk_uses_avx512() == 1

    public init(weights: BertWeights, pooling: SentencePooling.Mode, quantization: EmbeddingQuantization = .none) {
        self.weights = weights
        self.pooling = pooling
        self.quantization = quantization
        let hidden = weights.configuration.hiddenSize, intermediate = weights.configuration.intermediateSize
        switch quantization {
        case .none:
            quantizedLayers = []
            panelLayers = weights.layers.map { layer in
                LayerProducts(layer, hidden: hidden, intermediate: intermediate) { PanelLinear(weight: $0, bias: $1, outputs: $2, inputs: $3) }
            }
        case .int8:
            panelLayers = []
            quantizedLayers = weights.layers.map { layer in
                LayerProducts(layer, hidden: hidden, intermediate: intermediate) { QuantizedLinear(weight: $0, bias: $1, outputs: $2, inputs: $3) }
            }
        }
    }

    public var dimension: Int { weights.configuration.hiddenSize }

    /// One unit vector per sequence of token ids (ids outside the vocabulary read as id 0,
    /// sequences longer than the position table are cut to it; the tokenizer produces neither).
    ///
    /// A batch is cut into one contiguous group of sequences per core, balanced by tokens, and
    /// the groups run their whole forward pass side by side, each with single-threaded BLAS.
    /// Sequences never interact, so this is exact; and it keeps every core busy in the softmax,
    /// GELU and layer norms too, which OpenBLAS's own threads (one product at a time) left to
    /// one core while the others spun in sched_yield (a sixth of the time in perf). One short
    /// sequence — a query — is one group, and there OpenBLAS splits each product instead.
    public func encode(_ sequences: [[Int32]]) -> [[Float]] {
        EncoderParallelism.exclusively { encodeInTurn(sequences) }
    }

    private func encodeInTurn(_ sequences: [[Int32]]) -> [[Float]] {
        let sequences = sequences.map { Array($0.prefix(weights.configuration.maximumPositions)) }
        let groups = Self.partition(lengths: sequences.map(\.count), into: EncoderParallelism.workers)
        guard groups.count > 1 else {
            // A query: its linear layers run on one core (the panel product); the attention's
            // products are a few kB each, where waking OpenBLAS's second thread costs more
            // than it saves and, on a loaded machine, waits for a core.
            let tokens = sequences.reduce(0) { $0 + $1.count }
            let small = quantization == .none && tokens <= Self.panelRowLimit
            EncoderParallelism.useBLASThreads(small ? 1 : EncoderParallelism.workers)
            return forward(sequences[...])
        }
        EncoderParallelism.useBLASThreads(1)
        let results = Mutex([[[Float]]](repeating: [], count: groups.count))
        // A synchronous parallel loop: the caller (the embedder's actor) stays busy until every
        // group is done, so batches still take turns, and no task outlives the call.
        DispatchQueue.concurrentPerform(iterations: groups.count) { index in
            let vectors = forward(sequences[groups[index]])
            results.withLock { $0[index] = vectors }
        }
        return results.withLock { $0.flatMap { $0 } }
    }

    /// Splits sequences (by their lengths) into at most `workers` contiguous ranges of about
    /// equal token counts; fewer when there are too few tokens for a second core to pay off.
    static func partition(lengths: [Int], into workers: Int) -> [Range<Int>] {
        let total = lengths.reduce(0, +)
        // Below about 64 tokens per core, the wake-up of a second thread costs more than it saves.
        let count = min(max(1, workers), lengths.count, max(1, total / 64))
        guard count > 1 else { return lengths.isEmpty ? [] : [0..<lengths.count] }
        var ranges: [Range<Int>] = []
        var start = 0, accumulated = 0
        for (index, length) in lengths.enumerated() {
            accumulated += length
            // Cut when this range reaches its share of the total, leaving a sequence for every
            // range still to come.
            let share = total * (ranges.count + 1) / count
            if ranges.count < count - 1, accumulated >= share, lengths.count - index - 1 >= count - ranges.count - 1 {
                ranges.append(start..<(index + 1))
                start = index + 1
            }
        }
        if start < lengths.count { ranges.append(start..<lengths.count) }
        return ranges
    }

    /// The forward pass of one group of sequences, in the calling thread.
    private func forward(_ sequences: ArraySlice<[Int32]>) -> [[Float]] {
        let configuration = weights.configuration
        let hidden = configuration.hiddenSize
        var offsets: [Int] = []
        var tokenCount = 0
        for sequence in sequences {
            offsets.append(tokenCount)
            tokenCount += sequence.count
        }
        guard tokenCount > 0 else { return sequences.map { _ in [Float](repeating: 0, count: hidden) } }
        let sequences = Array(sequences)

        var states = [Float](repeating: 0, count: tokenCount * hidden)
        embed(sequences, offsets: offsets, into: &states)
        var queryKeyValue = [Float](repeating: 0, count: tokenCount * 3 * hidden)
        var context = [Float](repeating: 0, count: tokenCount * hidden)
        var sublayer = [Float](repeating: 0, count: tokenCount * hidden)
        var intermediate = [Float](repeating: 0, count: tokenCount * configuration.intermediateSize)
        let longest = sequences.reduce(0) { max($0, $1.count) }
        var scores = [Float](repeating: 0, count: lmk_attention_scratch_count(Int32(clamping: longest), Int32(clamping: configuration.headSize)))
        var quantizedInput = QuantizedRows()
        for (layerIndex, layer) in weights.layers.enumerated() {
            let quantized = layerIndex < quantizedLayers.count ? quantizedLayers[layerIndex] : nil
            let panel = (tokenCount <= Self.panelRowLimit || Self.panelForEveryBatch) && layerIndex < panelLayers.count
                ? panelLayers[layerIndex] : nil
            // Self-attention: one product for queries, keys and values of every token.
            if let quantized {
                quantizedInput.fill(states, rows: tokenCount, depth: hidden)
                quantized.queryKeyValue.apply(quantizedInput, into: &queryKeyValue)
            } else if let panel {
                panel.queryKeyValue.apply(states, rows: tokenCount, into: &queryKeyValue)
            } else {
                Self.linear(states, rows: tokenCount, inputs: hidden, layer.queryKeyValueWeight, layer.queryKeyValueBias,
                            outputs: 3 * hidden, into: &queryKeyValue)
            }
            for (index, sequence) in sequences.enumerated() where !sequence.isEmpty {
                attend(queryKeyValue, sequenceStart: offsets[index], length: sequence.count, scores: &scores, into: &context)
            }
            // Output projection, residual, layer norm.
            sublayer = states
            if let quantized {
                quantizedInput.fill(context, rows: tokenCount, depth: hidden)
                quantized.attentionOutput.apply(quantizedInput, into: &sublayer, accumulate: true)
            } else if let panel {
                panel.attentionOutput.apply(context, rows: tokenCount, into: &sublayer, accumulate: true)
            } else {
                Self.linear(context, rows: tokenCount, inputs: hidden, layer.attentionOutputWeight, layer.attentionOutputBias,
                            outputs: hidden, into: &sublayer, accumulate: true)
            }
            Self.layerNorm(&sublayer, rows: tokenCount, width: hidden, layer.attentionNormWeight, layer.attentionNormBias,
                           epsilon: configuration.layerNormEpsilon)
            swap(&states, &sublayer)
            // Feed-forward: expand, activate, project back, residual, layer norm.
            if let quantized {
                quantizedInput.fill(states, rows: tokenCount, depth: hidden)
                quantized.intermediate.apply(quantizedInput, into: &intermediate)
            } else if let panel {
                panel.intermediate.apply(states, rows: tokenCount, into: &intermediate)
            } else {
                Self.linear(states, rows: tokenCount, inputs: hidden, layer.intermediateWeight, layer.intermediateBias,
                            outputs: configuration.intermediateSize, into: &intermediate)
            }
            Self.activate(&intermediate, configuration.activation)
            sublayer = states
            if let quantized {
                quantizedInput.fill(intermediate, rows: tokenCount, depth: configuration.intermediateSize)
                quantized.output.apply(quantizedInput, into: &sublayer, accumulate: true)
            } else if let panel {
                panel.output.apply(intermediate, rows: tokenCount, into: &sublayer, accumulate: true)
            } else {
                Self.linear(intermediate, rows: tokenCount, inputs: configuration.intermediateSize, layer.outputWeight, layer.outputBias,
                            outputs: hidden, into: &sublayer, accumulate: true)
            }
            Self.layerNorm(&sublayer, rows: tokenCount, width: hidden, layer.outputNormWeight, layer.outputNormBias,
                           epsilon: configuration.layerNormEpsilon)
            swap(&states, &sublayer)
        }
        return sequences.indices.map { index in pool(states, start: offsets[index], length: sequences[index].count) }
    }

    /// Word + position + token-type (type 0: one segment) embeddings, then layer norm.
    private func embed(_ sequences: [[Int32]], offsets: [Int], into states: inout [Float]) {
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
    /// rows of `context`, head by head: CLocalModelKernels' AVX-512 kernel, else two sgemm calls
    /// around the softmax. `scores` is the kernel's scratch (at least `length`² floats).
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
                        let output = contextBase + sequenceStart * hidden + head * headSize
                        if lmk_attention(queries, keys, values, blas(stride), blas(length), blas(headSize), scale, scoreBase,
                                         output, blas(hidden)) != 0 {
                            continue
                        }
                        // scores = Q·Kᵀ / √d
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas(length), blas(length), blas(headSize),
                                    scale, queries, blas(stride), keys, blas(stride), 0, scoreBase, blas(length))
                        Self.softmaxRows(scoreBase, rows: length, width: length)
                        // context = softmax(scores)·V
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blas(length), blas(headSize), blas(length),
                                    1, scoreBase, blas(length), values, blas(stride), 0, output, blas(hidden))
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

    /// Softmax of each row, in place: CLocalModelKernels (AVX-512 when the CPU has it).
    static func softmaxRows(_ values: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        lmk_softmax_rows(values, Int32(clamping: rows), Int32(clamping: width))
    }

    static func activate(_ values: inout [Float], _ activation: BertConfiguration.Activation) {
        values.withUnsafeMutableBufferPointer { values in
            guard let base = values.baseAddress else { return }
            lmk_gelu(base, values.count, activation == .geluTanh ? 1 : 0)
        }
    }
}

/// A dimension for CBLAS (32-bit in Debian's OpenBLAS). Every dimension passed is bounded by
/// the checked model configuration and the batch's token budget, far below Int32.max.
@inline(__always)
private func blas(_ value: Int) -> Int32 {
    Int32(clamping: value)
}
