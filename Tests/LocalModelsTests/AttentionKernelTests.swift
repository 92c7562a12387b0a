import CLocalModelKernels
import Foundation
import Testing

/// The AVX-512 attention head (chosen at run time) against attention computed in Double from
/// its definition, for sequence lengths around the kernel's 6-row and 32-key tiles and head
/// sizes that are and are not multiples of its 16-float vectors.
@Suite struct AttentionKernelTests {
    @Test(arguments: [(1, 32), (5, 32), (6, 32), (7, 32), (31, 32), (33, 32), (130, 32), (17, 64), (9, 24), (40, 8)])
    func theHeadMatchesItsDefinition(length: Int, headSize: Int) throws {
        var numbers = QuantizedLinearTests.Numbers(state: UInt64(length * 131 + headSize))
        // Queries, keys and values interleaved in one row per token, as in the encoder's
        // stacked projection, with other heads' columns in between (stride > 3 · headSize).
        let stride = 3 * headSize + 5
        let rows = (0..<(length * stride)).map { _ in numbers.next() * 2 }
        let scale = 1 / Float(headSize).squareRoot()
        let outStride = headSize + 3
        // A marker in every output cell: the kernel must write the head's cells and no others.
        var out = [Float](repeating: 99, count: length * outStride)
        var scratch = [Float](repeating: .nan, count: lmk_attention_scratch_count(Int32(length), Int32(headSize)))
        let ran = rows.withUnsafeBufferPointer { rows in
            lmk_attention(rows.baseAddress!, rows.baseAddress! + headSize, rows.baseAddress! + 2 * headSize, Int32(stride),
                          Int32(length), Int32(headSize), scale, &scratch, &out, Int32(outStride))
        }
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        #expect((ran == 1) == (lmk_uses_avx512() == 1))
        guard ran == 1 else {
            #expect(out.allSatisfy { $0 == 99 }, "without AVX-512 the kernel leaves the output to BLAS")
            #expect(!flags.contains("avx512f"))
            return
        }
        func value(_ token: Int, _ part: Int, _ d: Int) -> Double { Double(rows[token * stride + part * headSize + d]) }
        var largestError = 0.0
        for i in 0..<length {
            let scores = (0..<length).map { j in (0..<headSize).reduce(0.0) { $0 + value(i, 0, $1) * value(j, 1, $1) } * Double(scale) }
            let top = scores.max() ?? 0
            let weights = scores.map { exp($0 - top) }
            let total = weights.reduce(0, +)
            for c in 0..<outStride {
                let cell = out[i * outStride + c]
                if c >= headSize {
                    #expect(cell == 99, "column \(c) of row \(i) is outside the head")
                    continue
                }
                let expected = (0..<length).reduce(0.0) { $0 + weights[$1] / total * value($1, 2, c) }
                largestError = max(largestError, abs(Double(cell) - expected))
            }
        }
        #expect(largestError < 1e-5, "largest error \(largestError)")
    }
}
