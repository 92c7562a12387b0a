/// Appends little-endian values to a byte array: the one encoder behind ares's binary formats
/// (the index snapshot `index.bin`, its BM25 and HNSW images, the task events in `tasks.sqlite`).
///
/// Integers are written in their fixed width, floats and doubles as their IEEE-754 bit
/// patterns, strings as UTF-8 after a length prefix, arrays of integers as a count prefix and
/// then one memory copy of the elements (on little-endian hosts), so that loading is a copy too.
/// The width of every length or count prefix is the caller's: each format chose its own, and
/// writing it with another width would change the format. A length that does not fit its
/// prefix type traps, as a conversion does: a format must never write a wrong length.
public struct BinaryWriter: Sendable {
    @usableFromInline var storage: [UInt8]

    @inlinable
    public init(reservingCapacity capacity: Int = 0) {
        storage = []
        storage.reserveCapacity(capacity)
    }

    /// Everything written so far.
    @inlinable public var bytes: [UInt8] { storage }

    /// How many bytes have been written.
    @inlinable public var count: Int { storage.count }

    @inlinable
    public mutating func write<Value: FixedWidthInteger>(_ value: Value) {
        withUnsafeBytes(of: value.littleEndian) { storage.append(contentsOf: $0) }
    }

    @inlinable
    public mutating func write(_ value: Float) {
        write(value.bitPattern)
    }

    @inlinable
    public mutating func write(_ value: Double) {
        write(value.bitPattern)
    }

    /// The bytes as they are, without a length prefix.
    @inlinable
    public mutating func write(bytes source: some Sequence<UInt8>) {
        storage.append(contentsOf: source)
    }

    /// A length prefix of type `Length`, then the bytes.
    @inlinable
    public mutating func write<Length: FixedWidthInteger>(prefixedBytes source: [UInt8], lengthPrefix: Length.Type) {
        write(Length(source.count))
        storage.append(contentsOf: source)
    }

    /// The UTF-8 length as a `Length`, then the UTF-8 bytes.
    @inlinable
    public mutating func write<Length: FixedWidthInteger>(_ string: String, lengthPrefix: Length.Type) {
        var copy = string
        copy.withUTF8 { utf8 in
            write(Length(utf8.count))
            storage.append(contentsOf: UnsafeRawBufferPointer(utf8))
        }
    }

    /// The element count as a `Count`, then the elements.
    @inlinable
    public mutating func write<Element: FixedWidthInteger, Count: FixedWidthInteger>(array values: [Element], countPrefix: Count.Type) {
        write(Count(values.count))
        values.withUnsafeBufferPointer { write(contentsOf: $0) }
    }

    /// The elements, without a count: one memory copy on a little-endian host.
    @inlinable
    public mutating func write<Element: FixedWidthInteger>(contentsOf values: UnsafeBufferPointer<Element>) {
        #if _endian(little)
        storage.append(contentsOf: UnsafeRawBufferPointer(values))
        #else
        for value in values { write(value) }
        #endif
    }

    /// Appends the XXH64 (seed 0) of every byte written so far, little-endian: the trailer that
    /// ares's checksummed formats end with (see `BinaryReader.checksummedBody`).
    @inlinable
    public mutating func writeChecksum() {
        write(XXH64.hash(storage))
    }
}
