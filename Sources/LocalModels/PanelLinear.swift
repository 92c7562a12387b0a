import CLocalModelKernels

/// A linear layer, y = x·Wᵀ + b, in float32 with W packed once at load into the column panels
/// of CLocalModelKernels' small-batch product. For a few rows (one query's tokens) that
/// product reads each weight once, where sgemm would pack all of W again on every call — for
/// a short query, most of the pass. With AVX-512 it takes large batches too, a block of rows at a
/// time (`BertEncoder.panelForEveryBatch`); without, they go through OpenBLAS (`BertEncoder.linear`),
/// whose packing pays off over many rows. Same arithmetic in another order: the vectors equal
/// sgemm's to float rounding.
struct PanelLinear: Sendable {
    let inputs: Int
    let outputs: Int
    let panels: [Float]
    let bias: [Float]

    /// Packs `weight` ([outputs × inputs], row-major, PyTorch's layout).
    init(weight: [Float], bias: [Float], outputs: Int, inputs: Int) {
        self.inputs = inputs
        self.outputs = outputs
        self.bias = bias
        let count = lmk_f32_panel_count(Int32(clamping: outputs), Int32(clamping: inputs))
        var panels = [Float](repeating: 0, count: count)
        // The weights' shapes were checked against the configuration when the file was read;
        // a mismatch (a bug) leaves the panels zero rather than reading out of bounds.
        if weight.count >= outputs * inputs {
            weight.withUnsafeBufferPointer { source in
                panels.withUnsafeMutableBufferPointer { target in
                    guard let source = source.baseAddress, let target = target.baseAddress else { return }
                    lmk_f32_pack(source, Int32(clamping: outputs), Int32(clamping: inputs), target)
                }
            }
        }
        self.panels = panels
    }

    /// `output[rows × outputs]` = `input[rows × inputs]` · Wᵀ + b, or `+=` when `accumulate`
    /// (the residual connection is already in `output`).
    func apply(_ input: [Float], rows: Int, into output: inout [Float], accumulate: Bool = false) {
        // The encoder sizes every buffer from the checked configuration; a mismatch is a bug
        // that leaves the output as it was rather than reading or writing out of bounds.
        guard rows >= 0, input.count >= rows * inputs, output.count >= rows * outputs, bias.count >= outputs else { return }
        input.withUnsafeBufferPointer { input in
            panels.withUnsafeBufferPointer { panels in
                bias.withUnsafeBufferPointer { bias in
                    output.withUnsafeMutableBufferPointer { output in
                        guard let input = input.baseAddress, let panels = panels.baseAddress, let bias = bias.baseAddress,
                              let output = output.baseAddress else { return }
                        lmk_f32_gemm(input, Int32(clamping: rows), Int32(clamping: inputs), panels, bias,
                                     Int32(clamping: outputs), output, Int32(clamping: outputs), accumulate ? 1 : 0)
                    }
                }
            }
        }
    }
}
