import CLocalModelKernels
import Foundation
import Testing

/// The AVX-512 softmax and GELU (chosen at run time) against the portable loops over libm's
/// expf, erff and tanhf, on rows whose widths are and are not multiples of 16, with the
/// extreme values a real pass can produce.
@Suite struct ActivationKernelTests {
    static func values(_ count: Int, seed: Int) -> [Float] {
        (0..<count).map { index in
            let x = Float((index * 7919 + seed * 104_729) % 20_011) / 20_011 * 24 - 12
            return index % 97 == 0 ? x * 8 : x
        }
    }

    @Test(arguments: [1, 7, 16, 17, 63, 256])
    func softmaxMatchesLibm(width: Int) {
        var fast = Self.values(3 * width, seed: width)
        fast[0] = -1e30  // underflows to 0 after the shift, without NaN
        var reference = fast
        lmk_softmax_rows(&fast, 3, Int32(width))
        lmk_softmax_rows_portable(&reference, 3, Int32(width))
        for index in fast.indices {
            #expect(abs(fast[index] - reference[index]) <= 1e-6 + 1e-5 * reference[index], "at \(index): \(fast[index]) vs \(reference[index])")
        }
        for row in 0..<3 {
            let sum = fast[(row * width)..<((row + 1) * width)].reduce(0, +)
            #expect(abs(sum - 1) < 1e-5)
        }
    }

    @Test(arguments: [0, 1])
    func geluMatchesLibm(tanhApproximation: Int32) {
        var fast = Self.values(1001, seed: 3) + [0, -0.0, 1e-20, -30, 30, 88, -88, 200, -200]
        var reference = fast
        lmk_gelu(&fast, fast.count, tanhApproximation)
        lmk_gelu_portable(&reference, reference.count, tanhApproximation)
        for index in fast.indices {
            #expect(fast[index].isFinite)
            #expect(abs(fast[index] - reference[index]) <= 1e-6 + 2e-6 * abs(reference[index]), "at \(index): \(fast[index]) vs \(reference[index])")
        }
    }
}
