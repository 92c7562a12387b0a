import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Spin locks guarding link lists during a parallel build, striped over a fixed table (node
/// number modulo the table size). A builder never holds two of them at once, so two nodes
/// sharing a stripe can only make one wait briefly, never deadlock. Critical sections are a
/// copy or a short prune, so spinning beats sleeping; after a while a waiter yields its core.
final class HNSWLinkLocks: @unchecked Sendable {
    private static let stripeCount = 4096
    private let words: UnsafeMutablePointer<Atomic<UInt32>>

    init() {
        words = .allocate(capacity: HNSWLinkLocks.stripeCount)
        for index in 0..<HNSWLinkLocks.stripeCount {
            (words + index).initialize(to: Atomic(0))
        }
    }

    deinit {
        words.deinitialize(count: HNSWLinkLocks.stripeCount)
        words.deallocate()
    }

    @inline(__always)
    func lock(_ node: UInt32) {
        let word = words + Int(node & UInt32(HNSWLinkLocks.stripeCount - 1))
        while !word.pointee.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            var spins = 0
            while word.pointee.load(ordering: .relaxed) != 0 {
                spins += 1
                if spins >= 256 {
                    sched_yield()
                    spins = 0
                }
            }
        }
    }

    @inline(__always)
    func unlock(_ node: UInt32) {
        words[Int(node & UInt32(HNSWLinkLocks.stripeCount - 1))].store(0, ordering: .releasing)
    }
}
