import Testing
@testable import BinaryCoding

@Suite struct BinaryCodingTests {
    /// One of everything the writer can write, and the reads that take it back.
    static func sample() -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(UInt8(0xA1))
        writer.write(Int64(-2))
        writer.write(UInt32(0xDEAD_BEEF))
        writer.write(Float(1.5))
        writer.write(Double(-0.25))
        writer.write("héllo 😀", lengthPrefix: UInt32.self)
        writer.write("", lengthPrefix: Int64.self)
        writer.write(array: [UInt64(1), 2, .max], countPrefix: UInt64.self)
        writer.write(array: [UInt32](), countPrefix: UInt64.self)
        writer.write(prefixedBytes: [9, 8, 7], lengthPrefix: UInt64.self)
        writer.write(bytes: [1, 2])
        return writer.bytes
    }

    static func readSample(_ reader: inout BinaryReader) throws(BinaryReadError) {
        #expect(try reader.read(UInt8.self) == 0xA1)
        #expect(try reader.read(Int64.self) == -2)
        #expect(try reader.read(UInt32.self) == 0xDEAD_BEEF)
        #expect(try reader.read(Float.self) == 1.5)
        #expect(try reader.read(Double.self) == -0.25)
        #expect(try reader.readString(lengthPrefix: UInt32.self) == "héllo 😀")
        #expect(try reader.readString(lengthPrefix: Int64.self) == "")
        #expect(try reader.readArray(of: UInt64.self, countPrefix: UInt64.self) == [1, 2, .max])
        #expect(try reader.readArray(of: UInt32.self, countPrefix: UInt64.self) == [])
        #expect(Array(try reader.readBytes(lengthPrefix: UInt64.self)) == [9, 8, 7])
        #expect(Array(try reader.readBytes(2)) == [1, 2])
    }

    @Test func everythingWrittenReadsBack() throws {
        let bytes = Self.sample()
        try bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            try Self.readSample(&reader)
            #expect(reader.isAtEnd && reader.remaining == 0)
            #expect(throws: BinaryReadError.self) { try reader.read(UInt8.self) }
        }
    }

    @Test func theLayoutIsLittleEndianWithTheCallersPrefixWidths() {
        var writer = BinaryWriter()
        writer.write(UInt32(0x0102_0304))
        writer.write("ab", lengthPrefix: UInt32.self)
        writer.write("c", lengthPrefix: Int64.self)
        writer.write(array: [UInt16(0x0A0B)], countPrefix: UInt64.self)
        #expect(writer.bytes == [4, 3, 2, 1, 2, 0, 0, 0, 97, 98, 1, 0, 0, 0, 0, 0, 0, 0, 99, 1, 0, 0, 0, 0, 0, 0, 0, 0x0B, 0x0A])
    }

    @Test func everyTruncationThrows() {
        let bytes = Self.sample()
        for cut in 0..<bytes.count {
            let prefix = Array(bytes.prefix(cut))
            prefix.withUnsafeBytes { raw in
                var reader = BinaryReader(raw)
                #expect(throws: BinaryReadError.self, "cut at \(cut)") { try Self.readSample(&reader) }
            }
        }
    }

    @Test func aReaderStopsAtItsEnd() throws {
        let bytes: [UInt8] = [1, 0, 0, 0, 2, 0, 0, 0]
        try bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw, offset: 0, end: 4)
            #expect(try reader.read(UInt32.self) == 1)
            #expect(throws: BinaryReadError(offset: 4, needed: 4, remaining: 0)) { try reader.read(UInt32.self) }
            // Out-of-range bounds are clamped, never trusted.
            var clamped = BinaryReader(raw, offset: -5, end: 1_000)
            #expect(clamped.offset == 0 && clamped.end == 8)
            try clamped.skip(8)
            #expect(throws: BinaryReadError.self) { try clamped.skip(-1) }
            var past = BinaryReader(raw, offset: 50)
            #expect(past.remaining == 0)
            #expect(throws: BinaryReadError.self) { try past.read(UInt8.self) }
        }
    }

    @Test func hostileCountsAndLengthsThrowBeforeAllocating() {
        func reading(_ bytes: [UInt8], _ body: (inout BinaryReader) throws(BinaryReadError) -> Void) -> BinaryReadError? {
            bytes.withUnsafeBytes { raw in
                var reader = BinaryReader(raw)
                do throws(BinaryReadError) {
                    try body(&reader)
                    return nil
                } catch {
                    return error
                }
            }
        }
        var huge = BinaryWriter()
        huge.write(UInt64.max)
        huge.write(bytes: [0, 0, 0, 0])
        let arrayError = reading(huge.bytes) { reader throws(BinaryReadError) in _ = try reader.readArray(of: UInt64.self, countPrefix: UInt64.self) }
        #expect(arrayError == BinaryReadError(offset: 0, needed: .max, remaining: 12))
        let stringError = reading(huge.bytes) { reader throws(BinaryReadError) in _ = try reader.readString(lengthPrefix: UInt64.self) }
        #expect(stringError != nil)

        var negative = BinaryWriter()
        negative.write(Int64(-1))
        #expect(reading(negative.bytes) { reader throws(BinaryReadError) in _ = try reader.readString(lengthPrefix: Int64.self) } != nil)
        #expect(reading(negative.bytes) { reader throws(BinaryReadError) in _ = try reader.readCount(Int64.self, minimumElementSize: 8) } != nil)

        // 3 elements of 8 bytes claimed, 16 bytes left.
        var short = BinaryWriter()
        short.write(array: [UInt64(1), 2, 3], countPrefix: UInt32.self)
        let shortBytes = Array(short.bytes.dropLast(8))
        let error = reading(shortBytes) { reader throws(BinaryReadError) in _ = try reader.readArray(of: UInt64.self, countPrefix: UInt32.self) }
        #expect(error == BinaryReadError(offset: 0, needed: 28, remaining: 20))
        #expect(error?.description == "truncated data: needs 28 bytes at offset 0, 20 left")
        // A count of elements of at least 20 bytes each, checked against what remains.
        var terms = BinaryWriter()
        terms.write(UInt64(3))
        terms.write(bytes: [UInt8](repeating: 0, count: 59))
        #expect(reading(terms.bytes) { reader throws(BinaryReadError) in _ = try reader.readCount(UInt64.self, minimumElementSize: 20) } != nil)
        var count = 0
        #expect(reading(terms.bytes + [0]) { reader throws(BinaryReadError) in count = try reader.readCount(UInt64.self, minimumElementSize: 20) } == nil)
        #expect(count == 3)
    }

    @Test func bulkReadsFillTheirBuffer() throws {
        var writer = BinaryWriter()
        let values: [UInt32] = [7, 8, 9, 10]
        values.withUnsafeBufferPointer { writer.write(contentsOf: $0) }
        let bytes = writer.bytes
        try bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            var into = [UInt32](repeating: 0, count: 3)
            try into.withUnsafeMutableBufferPointer { try reader.read(into: $0) }
            #expect(into == [7, 8, 9])
            var tooMany = [UInt32](repeating: 0, count: 2)
            #expect(throws: BinaryReadError.self) { try tooMany.withUnsafeMutableBufferPointer { try reader.read(into: $0) } }
            #expect(reader.remaining == 4)
        }
    }

    @Test("XXH64 matches the reference test vectors")
    func xxh64() {
        #expect(XXH64.hash(Array("".utf8)) == 0xEF46_DB37_51D8_E999)
        #expect(XXH64.hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(XXH64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        // Long enough for the four-lane loop and every tail length.
        let long = Array("Nobody inspects the spammish repetition".utf8)
        #expect(XXH64.hash(long) == 0xFBCE_A83C_8A37_8BF1)
    }

    @Test func aChecksumTrailerIsFoundAndChecked() {
        var writer = BinaryWriter()
        writer.write(bytes: Array("payload".utf8))
        writer.writeChecksum()
        var bytes = writer.bytes
        bytes.withUnsafeBytes { raw in
            let framed = BinaryReader.checksummedBody(of: raw)
            #expect(framed?.body.count == 7 && framed?.stored == framed?.computed)
        }
        bytes[0] ^= 1
        bytes.withUnsafeBytes { raw in
            let framed = BinaryReader.checksummedBody(of: raw)
            #expect(framed != nil && framed?.stored != framed?.computed)
        }
        [UInt8](repeating: 0, count: 7).withUnsafeBytes { #expect(BinaryReader.checksummedBody(of: $0) == nil) }
    }
}
