/// UTF-8 as RFC 3629 allows it: no overlong forms, no encoded surrogates, nothing above
/// U+10FFFF. Shared by the text-format sniffer and the strict JSON validator.
public enum UTF8Sequence {
    /// The length (2 to 4) of the valid multi-byte sequence that starts at `index`, or 0 when
    /// the bytes there are not one (an ASCII byte included: the caller handles those).
    @inlinable
    public static func validLength<Bytes: RandomAccessCollection<UInt8>>(in bytes: Bytes, at index: Bytes.Index) -> Int where Bytes.Index == Int {
        let lead = bytes[index]
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default: return 0
        }
        guard bytes.endIndex - index >= length else { return 0 }
        let second = bytes[index + 1]
        guard second >= lower, second <= upper else { return 0 }
        var offset = 2
        while offset < length {
            guard bytes[index + offset] & 0xC0 == 0x80 else { return 0 }
            offset += 1
        }
        return length
    }
}
