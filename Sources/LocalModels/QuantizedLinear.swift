import CLocalModelKernels

/// A linear layer, y = x·Wᵀ + b, with W in 8-bit integers: one scale per output row (the row's
/// largest magnitude maps to 127), packed once at load for the kernel in CLocalModelKernels.
/// Inputs are quantized per row at run time (`QuantizedRows`), so a product is integer
/// multiply-adds — four times as many per instruction as float32 with AVX-512 VNNI — over a
/// quarter of the weight bytes, which is what one short query's pass is bound by.
struct QuantizedLinear: Sendable {
    let inputs: Int
    let outputs: Int
    let packed: [Int8]
    let weightScale: [Float]
    /// Σ of each row's quantized weights: the term that the inputs' offsets multiply.
    let weightSum: [Int32]
    let bias: [Float]

    /// Quantizes `weight` ([outputs × inputs], row-major, PyTorch's layout). Non-finite weights
    /// (a broken file; loading does not reject them) become 0 instead of trapping the conversion.
    init(weight: [Float], bias: [Float], outputs: Int, inputs: Int) {
        self.inputs = inputs
        self.outputs = outputs
        self.bias = bias
        var quantized = [Int8](repeating: 0, count: outputs * inputs)
        var scales = [Float](repeating: 0, count: outputs)
        var sums = [Int32](repeating: 0, count: outputs)
        weight.withUnsafeBufferPointer { weight in
            for row in 0..<outputs {
                let base = row * inputs
                var largest: Float = 0
                for column in 0..<inputs where weight[base + column].isFinite {
                    largest = Swift.max(largest, Swift.abs(weight[base + column]))
                }
                let scale = largest / 127
                let inverse = scale > 0 ? 1 / scale : 0
                var sum: Int32 = 0
                for column in 0..<inputs {
                    let level = (weight[base + column] * inverse).rounded()
                    let value = level.isFinite ? Int8(Swift.min(Swift.max(level, -127), 127)) : 0
                    quantized[base + column] = value
                    sum += Int32(value)
                }
                scales[row] = scale
                sums[row] = sum
            }
        }
        var packed = [Int8](repeating: 0, count: lmk_int8_packed_size(Int32(clamping: outputs), Int32(clamping: inputs)))
        quantized.withUnsafeBufferPointer { source in
            packed.withUnsafeMutableBufferPointer { target in
                guard let source = source.baseAddress, let target = target.baseAddress else { return }
                lmk_int8_pack(source, Int32(clamping: outputs), Int32(clamping: inputs), target)
            }
        }
        self.packed = packed
        self.weightScale = scales
        self.weightSum = sums
    }

    /// `output[rows × outputs]` = the product of `input`'s rows and the weights, plus the bias;
    /// `+=` when `accumulate` (the residual connection is already in `output`).
    func apply(_ input: QuantizedRows, into output: inout [Float], accumulate: Bool = false) {
        // The encoder sizes every buffer from the checked configuration; a mismatch is a bug
        // that leaves the output as it was rather than reading or writing out of bounds.
        guard input.depth == inputs, input.bytes.count >= input.rows * Int(lmk_int8_padded_depth(Int32(clamping: inputs))),
              output.count >= input.rows * outputs else { return }
        input.bytes.withUnsafeBufferPointer { bytes in
            input.scale.withUnsafeBufferPointer { scale in
                input.offset.withUnsafeBufferPointer { offset in
                    packed.withUnsafeBufferPointer { packed in
                        weightScale.withUnsafeBufferPointer { weightScale in
                            weightSum.withUnsafeBufferPointer { weightSum in
                                bias.withUnsafeBufferPointer { bias in
                                    output.withUnsafeMutableBufferPointer { output in
                                        guard let bytes = bytes.baseAddress, let scale = scale.baseAddress, let offset = offset.baseAddress,
                                              let packed = packed.baseAddress, let weightScale = weightScale.baseAddress,
                                              let weightSum = weightSum.baseAddress, let bias = bias.baseAddress,
                                              let output = output.baseAddress else { return }
                                        lmk_int8_gemm(bytes, scale, offset, Int32(clamping: input.rows), Int32(clamping: inputs),
                                                      packed, weightScale, weightSum, bias, Int32(clamping: outputs),
                                                      output, Int32(clamping: outputs), accumulate ? 1 : 0)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Rows of float activations quantized to bytes, each with its own scale and offset
/// (x ≈ scale · byte + offset), as `QuantizedLinear` multiplies them. One buffer per forward
/// pass, refilled before each product.
struct QuantizedRows {
    private(set) var rows = 0
    private(set) var depth = 0
    private(set) var bytes: [UInt8] = []
    private(set) var scale: [Float] = []
    private(set) var offset: [Float] = []

    /// Quantizes `values` ([rows × depth], row-major).
    mutating func fill(_ values: [Float], rows: Int, depth: Int) {
        guard rows >= 0, depth > 0, values.count >= rows * depth else { return }
        let padded = Int(lmk_int8_padded_depth(Int32(clamping: depth)))
        if bytes.count < rows * padded { bytes = [UInt8](repeating: 0, count: rows * padded) }
        if scale.count < rows {
            scale = [Float](repeating: 0, count: rows)
            offset = [Float](repeating: 0, count: rows)
        }
        self.rows = rows
        self.depth = depth
        values.withUnsafeBufferPointer { values in
            bytes.withUnsafeMutableBufferPointer { bytes in
                scale.withUnsafeMutableBufferPointer { scale in
                    offset.withUnsafeMutableBufferPointer { offset in
                        guard let values = values.baseAddress, let bytes = bytes.baseAddress,
                              let scale = scale.baseAddress, let offset = offset.baseAddress else { return }
                        lmk_quantize_rows(values, Int32(clamping: rows), Int32(clamping: depth), bytes, scale, offset)
                    }
                }
            }
        }
    }
}
