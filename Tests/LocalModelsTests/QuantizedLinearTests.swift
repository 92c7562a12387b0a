import CLocalModelKernels
import Foundation
import Testing
@testable import LocalModels

/// The 8-bit product against plain arithmetic: for sizes that are and are not multiples of the
/// kernel's steps, the kernel chosen at run time (VNNI here) and the portable loop must both
/// give the dequantized product computed in Double, and equal each other (their integer sums
/// are exact, so only float rounding of the last step may differ).
@Suite struct QuantizedLinearTests {
    /// SplitMix64: the same "random" matrices on every run.
    struct Numbers {
        var state: UInt64
        mutating func next() -> Float {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Float(z >> 40) / Float(1 << 24) * 2 - 1
        }
    }

    static func product(_ input: QuantizedRows, _ layer: QuantizedLinear, portable: Bool, start: [Float]) -> [Float] {
        var output = start
        if !portable {
            layer.apply(input, into: &output, accumulate: true)
            return output
        }
        input.bytes.withUnsafeBufferPointer { bytes in
            output.withUnsafeMutableBufferPointer { output in
                lmk_int8_gemm_portable(bytes.baseAddress, input.scale, input.offset, Int32(input.rows), Int32(layer.inputs),
                                       layer.packed, layer.weightScale, layer.weightSum, layer.bias, Int32(layer.outputs),
                                       output.baseAddress, Int32(layer.outputs), 1)
            }
        }
        return output
    }

    @Test(arguments: [(1, 3, 1), (1, 384, 1152), (7, 384, 384), (13, 1536, 384), (6, 37, 45), (100, 64, 33), (97, 5, 70)])
    func theKernelComputesTheDequantizedProduct(rows: Int, inputs: Int, outputs: Int) throws {
        var numbers = Numbers(state: UInt64(rows * 1_000_003 + inputs * 1009 + outputs))
        let weight = (0..<(outputs * inputs)).map { _ in numbers.next() * 0.2 }
        let bias = (0..<outputs).map { _ in numbers.next() }
        // Activations with an offset, as after GELU: quantization per row must not assume symmetry.
        let values = (0..<(rows * inputs)).map { _ in numbers.next() * 3 + 1 }
        let start = (0..<(rows * outputs)).map { _ in numbers.next() }
        let layer = QuantizedLinear(weight: weight, bias: bias, outputs: outputs, inputs: inputs)
        var input = QuantizedRows()
        input.fill(values, rows: rows, depth: inputs)
        let padded = Int(lmk_int8_padded_depth(Int32(inputs)))
        let packedColumns = (outputs + 31) / 32 * 32

        // What the packed bytes and scales stand for, unpacked by hand from the documented layout.
        func weightLevel(_ column: Int, _ depth: Int) -> Int {
            let at = ((column / 16) * (padded / 4) + depth / 4) * 64 + (column % 16) * 4 + depth % 4
            return Int(layer.packed[at])
        }
        #expect(layer.packed.count == packedColumns * padded)
        var expected = start
        for row in 0..<rows {
            for column in 0..<outputs {
                var sum = 0.0
                for depth in 0..<inputs {
                    let activation = Double(input.scale[row]) * Double(input.bytes[row * padded + depth]) + Double(input.offset[row])
                    sum += activation * Double(weightLevel(column, depth)) * Double(layer.weightScale[column])
                }
                expected[row * outputs + column] += Float(sum) + bias[column]
            }
        }
        let fast = Self.product(input, layer, portable: false, start: start)
        let portable = Self.product(input, layer, portable: true, start: start)
        var worst: Float = 0
        for index in expected.indices {
            let tolerance = 1e-4 * max(1, abs(expected[index]))
            worst = max(worst, abs(fast[index] - expected[index]))
            #expect(abs(fast[index] - expected[index]) <= tolerance, "kernel at \(index): \(fast[index]) vs \(expected[index])")
            #expect(abs(portable[index] - expected[index]) <= tolerance, "portable at \(index): \(portable[index]) vs \(expected[index])")
        }
        // And the quantized product is close to the float one (the quantization itself).
        for row in 0..<min(rows, 3) {
            for column in 0..<min(outputs, 5) {
                var exact: Float = start[row * outputs + column] + bias[column]
                for depth in 0..<inputs { exact += values[row * inputs + depth] * weight[column * inputs + depth] }
                #expect(abs(fast[row * outputs + column] - exact) <= 0.02 * Float(inputs).squareRoot() + 1e-3)
            }
        }
    }

    @Test func rowQuantizationIsWithinHalfAStepAndSurvivesBrokenValues() {
        let row: [Float] = [-1.5, 0, 0.25, 2.5, 1, -0.75, 0.125]
        var input = QuantizedRows()
        input.fill(row, rows: 1, depth: row.count)
        #expect(input.offset[0] == -1.5)
        #expect(abs(input.scale[0] - 4 / 255) < 1e-7)
        for (index, value) in row.enumerated() {
            let restored = input.scale[0] * Float(input.bytes[index]) + input.offset[0]
            #expect(abs(restored - value) <= input.scale[0] / 2 + 1e-6)
        }
        #expect(input.bytes[row.count] == 0, "padding to the depth step is zero")

        // NaN, infinities and constant rows give defined bytes and finite scales, no trap.
        input.fill([.nan, 1, .infinity, -.infinity, 3, 3, 3, 3], rows: 2, depth: 4)
        #expect(input.scale.prefix(2).allSatisfy { $0.isFinite } && input.offset.prefix(2).allSatisfy { $0.isFinite })
        #expect(input.scale[1] == 0 && input.offset[1] == 3)

        // Non-finite weights quantize to 0 instead of trapping the Int8 conversion.
        let layer = QuantizedLinear(weight: [.nan, 1, .infinity, -2], bias: [0, 0], outputs: 2, inputs: 2)
        #expect(layer.weightScale.allSatisfy { $0.isFinite })
        #expect(layer.weightSum == [127, -127])
    }

    @Test func theKernelChoiceIsReported() {
        // On this project's CI machines (AMD EPYC, Zen 4) the VNNI kernel runs; elsewhere the
        // portable loop does, which the other tests check as well.
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        #expect((lmk_int8_uses_vnni() == 1) == flags.contains("avx512_vnni"))
    }
}
