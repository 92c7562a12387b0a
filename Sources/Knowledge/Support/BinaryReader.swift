/// The error of a damaged or foreign snapshot file; the message says what did not fit.
public struct SnapshotFormatError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Reads what `BinaryWriter` wrote, checking every length against the bytes that remain,
/// so a truncated or corrupted file throws instead of crashing.
struct BinaryReader {
    private let bytes: [UInt8]
    private(set) var offset: Int
    /// Reading stops here (a trailer such as a checksum may follow).
    private let end: Int

    init(_ bytes: [UInt8], offset: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = min(end ?? bytes.count, bytes.count)
    }

    var remaining: Int { end - offset }

    private mutating func take(_ count: Int, _ what: String) throws -> Range<Int> {
        guard count >= 0, count <= remaining else {
            throw SnapshotFormatError("truncated data while reading \(what): needs \(count) bytes at offset \(offset), \(remaining) left")
        }
        defer { offset += count }
        return offset..<(offset + count)
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws -> T {
        let range = try take(MemoryLayout<T>.size, what)
        return bytes.withUnsafeBytes { raw in
            T(littleEndian: raw.loadUnaligned(fromByteOffset: range.lowerBound, as: T.self))
        }
    }

    mutating func readFloat(_ what: String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, what))
    }

    mutating func readString(_ what: String) throws -> String {
        let count = Int(try read(UInt32.self, what))
        let range = try take(count, what)
        return bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    /// Reads a count (checked against `limit` and the remaining bytes) and that many elements.
    mutating func readArray<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws -> [T] {
        let count = try read(UInt64.self, what)
        let size = MemoryLayout<T>.size
        guard count <= UInt64(remaining / size) else {
            throw SnapshotFormatError("\(what) claims \(count) elements but only \(remaining) bytes remain")
        }
        let range = try take(Int(count) * size, what)
        #if _endian(little)
        // The file is little-endian like the host: one bulk copy instead of a loop.
        return [T](unsafeUninitializedCapacity: Int(count)) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[range]))
            }
            initialized = Int(count)
        }
        #else
        return bytes.withUnsafeBytes { raw in
            (0..<Int(count)).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: range.lowerBound + $0 * size, as: T.self)) }
        }
        #endif
    }

    mutating func readFloats(_ what: String) throws -> [Float] {
        try readArray(UInt32.self, what).map(Float.init(bitPattern:))
    }

    mutating func readBytes(_ what: String) throws -> [UInt8] {
        let count = try read(UInt64.self, what)
        guard count <= UInt64(remaining) else {
            throw SnapshotFormatError("\(what) claims \(count) bytes but only \(remaining) remain")
        }
        return Array(bytes[try take(Int(count), what)])
    }
}
