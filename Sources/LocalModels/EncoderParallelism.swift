import COpenBLAS
import Foundation
import Synchronization

/// How many cores the encoder uses: one thread per core, or what the operator set in
/// OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS), read once. The encoder runs one group of
/// sequences per worker with single-threaded OpenBLAS, or one group with OpenBLAS's own threads.
enum EncoderParallelism {
    static let workers: Int = {
        let environment = ProcessInfo.processInfo.environment
        for name in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"] {
            if let text = environment[name], let value = Int(text), value >= 1 { return min(value, 64) }
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// OpenBLAS's thread count is global, so passes take turns process-wide (two embedders,
    /// say a float32 and an int8 one, would anyway compete for the same cores): the count set
    /// for one pass cannot change under another's products.
    private static let turn = Mutex(())

    static func exclusively<Result>(_ body: () -> Result) -> Result {
        turn.withLock { _ in body() }
    }

    /// Only called inside `exclusively`.
    static func useBLASThreads(_ count: Int) {
        openblas_set_num_threads(Int32(clamping: count))
    }
}
