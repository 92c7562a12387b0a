/// A (distance, node) pair packed into one UInt64 so that heaps compare and move single words:
/// the distance's bits, made order-preserving as an unsigned integer, above the node number.
/// Ties between equal distances are broken by node number, which keeps results deterministic.
enum HNSWSearchKey {
    @inline(__always)
    static func make(distance: Float, node: UInt32) -> UInt64 {
        let bits = distance.bitPattern
        // Positive floats order like their bit patterns once the sign bit is set; negative ones
        // (a distance can be −1e-7 after rounding) order reversed, so flip all their bits.
        let ordered = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return UInt64(ordered) << 32 | UInt64(node)
    }

    @inline(__always)
    static func node(_ key: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: key)
    }

    @inline(__always)
    static func distance(_ key: UInt64) -> Float {
        let ordered = UInt32(truncatingIfNeeded: key >> 32)
        return Float(bitPattern: ordered & 0x8000_0000 != 0 ? ordered & 0x7FFF_FFFF : ~ordered)
    }

    /// Sorts a short run ascending in place (reverse-link pruning sorts at most 2·m + 1 keys).
    static func insertionSort(_ keys: UnsafeMutablePointer<UInt64>, count: Int) {
        var index = 1
        while index < count {
            let key = keys[index]
            var hole = index
            while hole > 0 && keys[hole - 1] > key {
                keys[hole] = keys[hole - 1]
                hole -= 1
            }
            keys[hole] = key
            index += 1
        }
    }
}
