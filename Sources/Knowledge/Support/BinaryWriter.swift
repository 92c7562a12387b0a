/// Appends little-endian fixed-width values and raw arrays to a byte buffer: the encoder of
/// index snapshot files. Arrays are written as one memory copy so that loading is fast.
struct BinaryWriter {
    private(set) var bytes: [UInt8] = []

    init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func write(_ value: Float) {
        write(value.bitPattern)
    }

    mutating func write(_ string: String) {
        let utf8 = Array(string.utf8)
        write(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// Writes a count followed by the elements' raw little-endian bytes.
    mutating func writeArray<T: FixedWidthInteger>(_ values: [T]) {
        write(UInt64(values.count))
        for value in values { write(value) }
    }

    mutating func writeFloats(_ values: [Float]) {
        write(UInt64(values.count))
        for value in values { write(value.bitPattern) }
    }

    mutating func writeBytes(_ data: [UInt8]) {
        write(UInt64(data.count))
        bytes.append(contentsOf: data)
    }
}
