import BinaryCoding

/// The fixed header, read and checked before anything is allocated.
struct HNSWFormatHeader {
    let dimension: Int
    let parameters: HNSWParameters
    let nodeCount: Int
    let entryPoint: UInt32
    let maxLevel: Int
    let generatorState: UInt64
    let payloadBytes: Int

    init(validating raw: UnsafeRawBufferPointer) throws {
        let minimum = HNSWIndex.formatHeaderSize + HNSWIndex.formatChecksumSize
        let magicLength = HNSWIndex.formatMagic.count
        if raw.count >= magicLength, !raw.prefix(magicLength).elementsEqual(HNSWIndex.formatMagic) {
            throw HNSWIndexError.notAnIndex
        }
        guard raw.count >= minimum else {
            throw HNSWIndexError.truncatedData(expectedBytes: minimum, actualBytes: raw.count)
        }
        var reader = BinaryReader(raw, offset: HNSWIndex.formatMagic.count, end: HNSWIndex.formatHeaderSize)
        let version = try reader.read(UInt32.self)
        guard version == HNSWIndex.formatVersion else {
            throw HNSWIndexError.unsupportedVersion(found: version, supported: HNSWIndex.formatVersion)
        }
        let flags = try reader.read(UInt32.self)
        dimension = Int(try reader.read(UInt32.self))
        let m = Int(try reader.read(UInt32.self))
        let efConstruction = Int(try reader.read(UInt32.self))
        let efSearch = Int(try reader.read(UInt32.self))
        nodeCount = Int(try reader.read(UInt32.self))
        entryPoint = try reader.read(UInt32.self)
        maxLevel = Int(try reader.read(UInt32.self))
        let reserved = try reader.read(UInt32.self)
        generatorState = try reader.read(UInt64.self)
        let payload = try reader.read(UInt64.self)
        parameters = HNSWParameters(m: m, efConstruction: efConstruction, efSearch: efSearch)

        // The length check comes before the checksum so that a cut-off file says "truncated".
        guard payload <= UInt64(Int.max - minimum), raw.count == minimum + Int(payload) else {
            let expected = payload <= UInt64(Int.max - minimum) ? minimum + Int(payload) : Int.max
            throw HNSWIndexError.truncatedData(expectedBytes: expected, actualBytes: raw.count)
        }
        payloadBytes = Int(payload)
        // The length was checked above, so the trailer is there.
        if let trailer = BinaryReader.checksummedBody(of: raw), trailer.stored != trailer.computed {
            throw HNSWIndexError.checksumMismatch(stored: trailer.stored, computed: trailer.computed)
        }

        // The checksum matched, so anything odd below was written that way: refuse it anyway.
        guard flags == 0, reserved == 0 else { throw HNSWIndexError.corruptData("reserved header fields are set") }
        guard dimension >= 1, dimension <= 1 << 20 else { throw HNSWIndexError.corruptData("dimension \(dimension)") }
        guard nodeCount <= HNSWIndex.maximumNodeCount, maxLevel <= HNSWIndex.maximumLevel else {
            throw HNSWIndexError.corruptData("node count \(nodeCount) or top level \(maxLevel) out of range")
        }
        // Level-0 words alone must fit the payload before anything is sized from the header.
        let level0Bytes = nodeCount.multipliedReportingOverflow(by: (dimension + 1 + 2 * max(m, 0)) * 4)
        guard m >= 2, m <= HNSWParameters.maximumM, !level0Bytes.overflow, level0Bytes.partialValue <= payloadBytes else {
            throw HNSWIndexError.corruptData("header sizes (m \(m), \(nodeCount) nodes) exceed the payload")
        }
    }
}
