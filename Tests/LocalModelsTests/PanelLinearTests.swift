import CLocalModelKernels
import Foundation
import Testing
@testable import LocalModels

/// The float32 small-batch product (`PanelLinear`, CLocalModelKernels) against plain arithmetic
/// in Double: for sizes that are and are not multiples of the kernel's 16-column panels and
/// 8-row tiles, the kernel chosen at run time (AVX-512 here) and the portable loop must both
/// give the product, with and without accumulation into what the output already holds.
@Suite struct PanelLinearTests {
    static func portable(_ values: [Float], rows: Int, _ layer: PanelLinear, start: [Float]) -> [Float] {
        var output = start
        output.withUnsafeMutableBufferPointer { output in
            lmk_f32_gemm_portable(values, Int32(rows), Int32(layer.inputs), layer.panels, layer.bias, Int32(layer.outputs),
                                  output.baseAddress, Int32(layer.outputs), 1)
        }
        return output
    }

    @Test(arguments: [(1, 3, 1), (1, 384, 1152), (7, 384, 384), (8, 384, 1536), (9, 1536, 384), (13, 37, 45), (64, 64, 33), (17, 5, 70), (65, 384, 40), (150, 96, 70)])
    func theKernelComputesTheProduct(rows: Int, inputs: Int, outputs: Int) {
        var numbers = QuantizedLinearTests.Numbers(state: UInt64(rows * 7_919 + inputs * 104_729 + outputs))
        let weight = (0..<(outputs * inputs)).map { _ in numbers.next() * 0.2 }
        let bias = (0..<outputs).map { _ in numbers.next() }
        let values = (0..<(rows * inputs)).map { _ in numbers.next() * 3 + 1 }
        let start = (0..<(rows * outputs)).map { _ in numbers.next() }
        let layer = PanelLinear(weight: weight, bias: bias, outputs: outputs, inputs: inputs)
        #expect(layer.panels.count == (outputs + 31) / 32 * 32 * inputs)

        var expected = [Double](repeating: 0, count: rows * outputs)
        for row in 0..<rows {
            for column in 0..<outputs {
                var sum = Double(bias[column])
                for depth in 0..<inputs { sum += Double(values[row * inputs + depth]) * Double(weight[column * inputs + depth]) }
                expected[row * outputs + column] = sum
            }
        }
        var replaced = [Float](repeating: .nan, count: rows * outputs)
        layer.apply(values, rows: rows, into: &replaced)
        var accumulated = start
        layer.apply(values, rows: rows, into: &accumulated, accumulate: true)
        let portable = Self.portable(values, rows: rows, layer, start: start)
        for index in expected.indices {
            // Float32 sums of up to 1536 terms of magnitude ≤ 1: relative rounding well below 1e-4.
            let tolerance = 1e-4 * max(1, abs(expected[index])) * Double(max(1, inputs / 384))
            #expect(abs(Double(replaced[index]) - expected[index]) <= tolerance, "kernel at \(index): \(replaced[index]) vs \(expected[index])")
            let withStart = expected[index] + Double(start[index])
            #expect(abs(Double(accumulated[index]) - withStart) <= tolerance, "kernel += at \(index)")
            #expect(abs(Double(portable[index]) - withStart) <= tolerance, "portable at \(index): \(portable[index]) vs \(withStart)")
        }
    }

    @Test func outputBeyondTheRowsIsLeftAlone() {
        // 40 columns: the last panel pair is partly padding, and its masked store must not write
        // past column 39 of a row (into the next row) or past the last row.
        let inputs = 24, outputs = 40, rows = 3
        var numbers = QuantizedLinearTests.Numbers(state: 42)
        let layer = PanelLinear(weight: (0..<(outputs * inputs)).map { _ in numbers.next() },
                                bias: (0..<outputs).map { _ in numbers.next() }, outputs: outputs, inputs: inputs)
        var output = [Float](repeating: 7, count: (rows + 1) * outputs)
        layer.apply((0..<(rows * inputs)).map { _ in numbers.next() }, rows: rows, into: &output)
        #expect(output[(rows * outputs)...].allSatisfy { $0 == 7 })
        #expect(output[..<(rows * outputs)].contains { $0 != 7 })
        // A buffer too small for the rows (a bug in the caller) is refused, not overrun.
        var small = [Float](repeating: 7, count: outputs)
        layer.apply([Float](repeating: 1, count: rows * inputs), rows: rows, into: &small)
        #expect(small.allSatisfy { $0 == 7 })
    }
}
