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

    /// The quantizer chosen at run time (AVX-512 here) gives the portable loop's bytes, scales and
    /// offsets exactly, for widths around the 16-float vector and rows with NaN, infinities, a
    /// constant value and a single huge value.
    @Test(arguments: [1, 3, 15, 16, 17, 37, 384, 1536])
    func bothQuantizersAgreeByteForByte(depth: Int) {
        var numbers = Numbers(state: UInt64(depth) &* 7919)
        var rows: [[Float]] = (0..<9).map { row in (0..<depth).map { _ in numbers.next() * Float(row + 1) + Float(row) * 0.25 } }
        rows.append([Float](repeating: 2.5, count: depth))
        rows.append([Float](repeating: .nan, count: depth))
        var special = rows[0]
        special[depth / 2] = .nan
        special[depth - 1] = .infinity
        special[0] = -.infinity
        rows.append(special)
        var huge = rows[1]
        huge[depth - 1] = 3e38
        rows.append(huge)
        let values = rows.flatMap { $0 }
        let count = rows.count, padded = Int(lmk_int8_padded_depth(Int32(depth)))
        func quantize(_ run: (UnsafePointer<Float>, Int32, Int32, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void)
            -> (bytes: [UInt8], scale: [Float], offset: [Float]) {
            // Filled with a marker so that a byte the quantizer failed to write shows.
            var bytes = [UInt8](repeating: 0xA5, count: count * padded)
            var scale = [Float](repeating: -1, count: count), offset = [Float](repeating: -1, count: count)
            values.withUnsafeBufferPointer { values in
                run(values.baseAddress!, Int32(count), Int32(depth), &bytes, &scale, &offset)
            }
            return (bytes, scale, offset)
        }
        let chosen = quantize { lmk_quantize_rows($0, $1, $2, $3, $4, $5) }
        let portable = quantize { lmk_quantize_rows_portable($0, $1, $2, $3, $4, $5) }
        #expect(chosen.bytes == portable.bytes)
        #expect(chosen.scale.map(\.bitPattern) == portable.scale.map(\.bitPattern))
        #expect(chosen.offset.map(\.bitPattern) == portable.offset.map(\.bitPattern))
        // And the rows really span the byte range (a quantizer writing zeros would agree with itself).
        #expect(portable.bytes.prefix(depth).contains(255) || depth < 2)
        #expect(portable.scale.allSatisfy { $0.isFinite && $0 >= 0 })
    }

    @Test func theKernelChoiceIsReported() {
        // On this project's CI machines (AMD EPYC, Zen 4) the VNNI kernel runs; elsewhere the
        // portable loop does, which the other tests check as well.
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        #expect((lmk_int8_uses_vnni() == 1) == flags.contains("avx512_vnni"))
    }
}
