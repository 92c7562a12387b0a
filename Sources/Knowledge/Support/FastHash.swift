/// Fast non-cryptographic 64-bit hashes: change detection for files and feature hashing in
/// the built-in embedder. Never used for security. (Checksums of binary formats are XXH64, in
/// BinaryCoding.)
public enum FastHash {
    static let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325
    static let fnvPrime: UInt64 = 0x0000_0100_0000_01b3

    /// FNV-1a over bytes: simple and well distributed for short keys such as words.
    @inlinable
    public static func fnv1a<S: Sequence>(_ bytes: S, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 where S.Element == UInt8 {
        var hash = seed
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    public static func fnv1a(_ string: String, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var copy = string
        return copy.withUTF8 { fnv1a($0, seed: seed) }
    }

    /// The finalizer of SplitMix64: every input bit affects every output bit.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Sixteen lower-case hex digits.
    public static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }
}
