/// Fast non-cryptographic 64-bit hashes: change detection for files, checksums of index
/// snapshots, and feature hashing in the built-in embedder. Never used for security.
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

    /// A checksum of a large buffer: four independent multiply-rotate lanes over 32-byte
    /// blocks (the CPU overlaps them), folded together at the end, so checking a
    /// multi-megabyte index file costs about a millisecond.
    public static func checksum(_ buffer: UnsafeRawBufferPointer) -> UInt64 {
        let prime: UInt64 = 0x9e37_79b1_85eb_ca87
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344, 0xa409_3822_299f_31d0, UInt64(buffer.count))
        let blocks = buffer.count / 32
        var offset = 0
        for _ in 0..<blocks {
            lanes.0 = rotate(lanes.0 &+ buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self) &* prime) &* prime
            lanes.1 = rotate(lanes.1 &+ buffer.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self) &* prime) &* prime
            lanes.2 = rotate(lanes.2 &+ buffer.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self) &* prime) &* prime
            lanes.3 = rotate(lanes.3 &+ buffer.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self) &* prime) &* prime
            offset += 32
        }
        var hash = mix(lanes.0) ^ mix(lanes.1 &+ 1) ^ mix(lanes.2 &+ 2) ^ mix(lanes.3 &+ 3)
        while offset < buffer.count {
            hash = mix(hash ^ UInt64(buffer[offset]))
            offset += 1
        }
        return mix(hash)
    }

    @inline(__always)
    static func rotate(_ value: UInt64) -> UInt64 { (value << 31) | (value >> 33) }

    public static func checksum(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { checksum($0) }
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
