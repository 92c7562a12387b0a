/// Why a `BinaryReader` refused to read: the data ends before what it claims to hold.
/// Whatever the input, a read throws this instead of trapping or allocating what the data
/// cannot contain.
public struct BinaryReadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where the refused read started, from the start of the reader's buffer.
    public var offset: Int
    /// Bytes the read needed (for a count: elements × element size, saturating).
    public var needed: UInt64
    /// Bytes that were left before the reader's end.
    public var remaining: Int

    @inlinable
    public init(offset: Int, needed: UInt64, remaining: Int) {
        self.offset = offset
        self.needed = needed
        self.remaining = remaining
    }

    public var description: String {
        "truncated data: needs \(needed) bytes at offset \(offset), \(remaining) left"
    }
}
