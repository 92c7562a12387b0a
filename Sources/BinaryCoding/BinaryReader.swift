/// Reads what `BinaryWriter` wrote, from a borrowed buffer, between `offset` and `end`.
///
/// Bounds-checked throughout: every read checks its size against the bytes that remain and
/// throws `BinaryReadError` when they are too few, and every count or length prefix is
/// checked against the remaining bytes before anything is allocated for it, so a truncated,
/// damaged or hostile input ends in an error, never a trap or a huge allocation.
///
/// The reader borrows its buffer: use it inside the `withUnsafeBytes` call that gave it.
public struct BinaryReader {
    public let buffer: UnsafeRawBufferPointer
    /// Reading stops here: a trailer such as a checksum may follow.
    public let end: Int
    /// Always within `0...end`.
    @usableFromInline var position: Int

    /// A reader of `buffer[offset..<end]` (`end` defaults to, and is capped at, the buffer's end).
    @inlinable
    public init(_ buffer: UnsafeRawBufferPointer, offset: Int = 0, end: Int? = nil) {
        self.buffer = buffer
        self.end = min(max(end ?? buffer.count, 0), buffer.count)
        self.position = min(max(offset, 0), self.end)
    }

    /// Where the next read starts, from the start of the buffer.
    @inlinable public var offset: Int { position }

    @inlinable public var remaining: Int { end &- offset }
    @inlinable public var isAtEnd: Bool { offset == end }

    /// Claims the next `byteCount` bytes and returns where they start.
    @inlinable
    mutating func take(_ byteCount: Int) throws(BinaryReadError) -> Int {
        guard byteCount >= 0, byteCount <= remaining else {
            throw BinaryReadError(offset: offset, needed: byteCount < 0 ? UInt64.max : UInt64(byteCount), remaining: remaining)
        }
        let start = position
        position = start &+ byteCount
        return start
    }

    /// Checks a count just read from the data (its prefix started at `start`): `count` elements
    /// of at least `elementSize` bytes must fit in what remains. Returns it as an Int. The error
    /// counts from the prefix: prefix and elements needed, bytes left at the prefix.
    @inlinable
    func checked<Count: FixedWidthInteger>(count: Count, elementSize: Int, prefixAt start: Int) throws(BinaryReadError) -> Int {
        let size = max(elementSize, 1)
        guard count >= 0, UInt64(count) <= UInt64(remaining / size) else {
            let (product, overflow) = (count < 0 ? UInt64.max : UInt64(count)).multipliedReportingOverflow(by: UInt64(size))
            let (needed, beyond) = product.addingReportingOverflow(UInt64(MemoryLayout<Count>.size))
            throw BinaryReadError(offset: start, needed: overflow || beyond ? UInt64.max : needed, remaining: end &- start)
        }
        return Int(count)
    }

    @inlinable
    public mutating func read<Value: FixedWidthInteger>(_ type: Value.Type = Value.self) throws(BinaryReadError) -> Value {
        let start = try take(MemoryLayout<Value>.size)
        return Value(littleEndian: buffer.loadUnaligned(fromByteOffset: start, as: Value.self))
    }

    @inlinable
    public mutating func read(_ type: Float.Type) throws(BinaryReadError) -> Float {
        Float(bitPattern: try read(UInt32.self))
    }

    @inlinable
    public mutating func read(_ type: Double.Type) throws(BinaryReadError) -> Double {
        Double(bitPattern: try read(UInt64.self))
    }

    /// Moves past `byteCount` bytes.
    @inlinable
    public mutating func skip(_ byteCount: Int) throws(BinaryReadError) {
        _ = try take(byteCount)
    }

    /// The next `byteCount` bytes, borrowed from the buffer (no copy).
    @inlinable
    public mutating func readBytes(_ byteCount: Int) throws(BinaryReadError) -> UnsafeRawBufferPointer {
        let start = try take(byteCount)
        return UnsafeRawBufferPointer(rebasing: buffer[start..<(start &+ byteCount)])
    }

    /// A length prefix of type `Length`, then that many bytes, borrowed from the buffer.
    @inlinable
    public mutating func readBytes<Length: FixedWidthInteger>(lengthPrefix: Length.Type) throws(BinaryReadError) -> UnsafeRawBufferPointer {
        let start = offset
        let prefix = try read(Length.self)
        return try readBytes(try checked(count: prefix, elementSize: 1, prefixAt: start))
    }

    /// A length prefix of type `Length`, then that many bytes of UTF-8 (ill-formed sequences
    /// are repaired, as `String(decoding:as:)` does).
    @inlinable
    public mutating func readString<Length: FixedWidthInteger>(lengthPrefix: Length.Type) throws(BinaryReadError) -> String {
        String(decoding: try readBytes(lengthPrefix: Length.self), as: UTF8.self)
    }

    /// A count prefix of type `Count`, checked against the remaining bytes (each element
    /// takes at least `minimumElementSize`), for formats that then read the elements one by one.
    @inlinable
    public mutating func readCount<Count: FixedWidthInteger>(_ type: Count.Type, minimumElementSize: Int) throws(BinaryReadError) -> Int {
        let start = offset
        // Read before checking: `checked` must see what remains after the prefix.
        let count = try read(Count.self)
        return try checked(count: count, elementSize: minimumElementSize, prefixAt: start)
    }

    /// A count prefix of type `Count`, then that many integers (one memory copy on a
    /// little-endian host).
    @inlinable
    public mutating func readArray<Element: FixedWidthInteger, Count: FixedWidthInteger>(
        of type: Element.Type, countPrefix: Count.Type
    ) throws(BinaryReadError) -> [Element] {
        let count = try readCount(Count.self, minimumElementSize: MemoryLayout<Element>.size)
        let start = try take(count &* MemoryLayout<Element>.size)
        return [Element](unsafeUninitializedCapacity: count) { elements, initialized in
            Self.copy(from: buffer.baseAddress, at: start, into: elements.baseAddress, count: count)
            initialized = count
        }
    }

    /// Fills `destination` with the next `destination.count` integers.
    @inlinable
    public mutating func read<Element: FixedWidthInteger>(into destination: UnsafeMutableBufferPointer<Element>) throws(BinaryReadError) {
        let (byteCount, overflow) = destination.count.multipliedReportingOverflow(by: MemoryLayout<Element>.size)
        guard !overflow else { throw BinaryReadError(offset: offset, needed: UInt64.max, remaining: remaining) }
        let start = try take(byteCount)
        Self.copy(from: buffer.baseAddress, at: start, into: destination.baseAddress, count: destination.count)
    }

    @inlinable
    static func copy<Element: FixedWidthInteger>(
        from source: UnsafeRawPointer?, at start: Int, into destination: UnsafeMutablePointer<Element>?, count: Int
    ) {
        guard count > 0, let source, let destination else { return }
        UnsafeMutableRawPointer(destination).copyMemory(from: source + start, byteCount: count &* MemoryLayout<Element>.size)
        #if _endian(big)
        for index in 0..<count { destination[index] = Element(littleEndian: destination[index]) }
        #endif
    }
}

extension BinaryReader {
    /// The body of a buffer that ends with an XXH64 trailer (`BinaryWriter.writeChecksum`),
    /// with the stored and the computed checksum; nil when the buffer is shorter than a trailer.
    @inlinable
    public static func checksummedBody(of buffer: UnsafeRawBufferPointer) -> (body: UnsafeRawBufferPointer, stored: UInt64, computed: UInt64)? {
        guard buffer.count >= 8 else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: buffer[0..<(buffer.count - 8)])
        let stored = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: body.count, as: UInt64.self))
        return (body, stored, XXH64.hash(body))
    }
}
