/// The binary image of an `HNSWIndex`.
///
/// Version 1, all integers little-endian:
///
///     offset  size  field
///          0     8  magic "ARESHNSW"
///          8     4  format version (1)
///         12     4  flags, reserved (0)
///         16     4  dimension
///         20     4  m
///         24     4  efConstruction
///         28     4  efSearch
///         32     4  node count N (deleted nodes included)
///         36     4  entry point node (0xFFFFFFFF: none)
///         40     4  top level
///         44     4  reserved (0)
///         48     8  level-generator state (so a reloaded index keeps drawing the same levels)
///         56     8  payload length P in bytes
///         64     P  payload:
///                   N × UInt64    external ids
///                   N × UInt8     node levels
///                   N × UInt8     deleted flags (0 or 1)
///                   0–3 zero bytes padding to a multiple of 4
///                   N × dimension × Float32    unit vectors
///                   N × (1 + 2m) × UInt32      level-0 link lists: count, then neighbours (unused slots 0)
///                   for each node with level L > 0, in node order: L × (1 + m) × UInt32, levels 1…L
///     64 + P     8  XXH64 (seed 0) of every byte before it
///
/// Loading checks, in order: length against the header, magic, version, checksum, then every
/// structural invariant that search relies on (link counts and targets, levels, ids), so a
/// damaged or hostile image throws instead of crashing.
extension HNSWIndex {
    static let formatMagic: [UInt8] = Array("ARESHNSW".utf8)
    static let formatVersion: UInt32 = 1
    static let formatHeaderSize = 64
    static let formatChecksumSize = 8

    /// The index as a self-contained, versioned, checksummed byte image; see the format above.
    /// A reader: safe alongside concurrent searches, not alongside mutations.
    public func serialized() -> [UInt8] {
        let top = graphTop.withLock { $0 }
        var upperWords = 0
        for node in 0..<nodeCount { upperWords += Int(nodeLevels[node]) * upperStride }
        let layout = HNSWFormatLayout(nodeCount: nodeCount, dimension: dimension, level0Stride: level0Stride, upperWords: upperWords)
        let total = HNSWIndex.formatHeaderSize + layout.payloadBytes + HNSWIndex.formatChecksumSize

        return [UInt8](unsafeUninitializedCapacity: total) { buffer, initializedCount in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var writer = HNSWByteWriter(destination: raw)
            writer.write(bytes: HNSWIndex.formatMagic)
            writer.write(HNSWIndex.formatVersion)
            writer.write(UInt32(0))
            writer.write(UInt32(dimension))
            writer.write(UInt32(parameters.m))
            writer.write(UInt32(parameters.efConstruction))
            writer.write(UInt32(parameters.efSearch))
            writer.write(UInt32(nodeCount))
            writer.write(top.entryPoint)
            writer.write(UInt32(top.maxLevel))
            writer.write(UInt32(0))
            writer.write(levelGenerator.state)
            writer.write(UInt64(layout.payloadBytes))

            writer.write(array: externalIDs, count: nodeCount)
            writer.write(array: nodeLevels, count: nodeCount)
            writer.write(array: tombstones, count: nodeCount)
            writer.write(bytes: [UInt8](repeating: 0, count: layout.padding))
            vectors.withMemoryRebound(to: UInt32.self, capacity: nodeCount * dimension) {
                writer.write(array: $0, count: nodeCount * dimension)
            }
            writer.write(array: level0Links, count: nodeCount * level0Stride)
            for node in 0..<nodeCount {
                if let block = upperLinks[node] {
                    writer.write(array: block, count: Int(nodeLevels[node]) * upperStride)
                }
            }
            let checksum = HNSWChecksum.hash(UnsafeRawBufferPointer(rebasing: raw[0..<writer.offset]))
            writer.write(checksum)
            initializedCount = writer.offset
        }
    }

    /// Rebuilds an index from `serialized()` bytes. Throws `HNSWIndexError` with the reason if
    /// the data is truncated, damaged, of another format version, or not an index at all.
    public convenience init(serialized bytes: [UInt8]) throws {
        let header = try bytes.withUnsafeBytes { try HNSWFormatHeader(validating: $0) }
        self.init(dimension: header.dimension, parameters: header.parameters, seed: 0)
        guard parameters == header.parameters else {
            throw HNSWIndexError.corruptData("parameters out of range: \(header.parameters)")
        }
        levelGenerator = HNSWSplitMix64(seed: header.generatorState)
        try bytes.withUnsafeBytes { try loadPayload($0, header: header) }
    }

    private func loadPayload(_ raw: UnsafeRawBufferPointer, header: HNSWFormatHeader) throws {
        let count = header.nodeCount
        var reader = HNSWByteReader(source: raw, offset: HNSWIndex.formatHeaderSize,
                                end: raw.count - HNSWIndex.formatChecksumSize)
        reserveCapacity(count)
        // Every slot gets a defined upper-links pointer before nodeCount is set, so deinit can
        // free a half-loaded index if a check below throws.
        upperLinks.initialize(repeating: nil, count: count)
        nodeCount = count

        try reader.read(into: externalIDs, count: count)
        try reader.read(into: nodeLevels, count: count)
        try reader.read(into: tombstones, count: count)
        try reader.skip(HNSWFormatLayout.padding(nodeCount: count))
        try vectors.withMemoryRebound(to: UInt32.self, capacity: count * dimension) {
            try reader.read(into: $0, count: count * dimension)
        }
        try reader.read(into: level0Links, count: count * level0Stride)

        var upperWords = 0
        for node in 0..<count {
            let level = Int(nodeLevels[node])
            guard level <= header.maxLevel else {
                throw HNSWIndexError.corruptData("node \(node) has level \(level) above the top level \(header.maxLevel)")
            }
            guard tombstones[node] <= 1 else {
                throw HNSWIndexError.corruptData("node \(node) has deleted flag \(tombstones[node])")
            }
            if level > 0 {
                let block = UnsafeMutablePointer<UInt32>.allocate(capacity: level * upperStride)
                upperLinks[node] = block
                try reader.read(into: block, count: level * upperStride)
                upperWords += level * upperStride
            }
        }
        guard reader.offset == reader.end else {
            throw HNSWIndexError.corruptData("payload length \(header.payloadBytes) does not match its contents")
        }

        for node in 0..<count {
            let vector = vectors + node * dimension
            for index in 0..<dimension where !vector[index].isFinite {
                throw HNSWIndexError.corruptData("vector of node \(node) has a non-finite value")
            }
            let level = Int(nodeLevels[node])
            for listLevel in 0...level {
                try validateLinks(of: node, level: listLevel)
            }
            if tombstones[node] == 0 {
                let id = externalIDs[node]
                guard nodeByID.updateValue(UInt32(node), forKey: id) == nil else {
                    throw HNSWIndexError.corruptData("id \(id) is live in two nodes")
                }
            } else {
                tombstoneCount += 1
            }
        }

        if count == 0 {
            guard header.entryPoint == HNSWIndex.noNode, header.maxLevel == 0 else {
                throw HNSWIndexError.corruptData("an empty index has an entry point")
            }
        } else {
            guard Int(header.entryPoint) < count, Int(nodeLevels[Int(header.entryPoint)]) == header.maxLevel else {
                throw HNSWIndexError.corruptData("entry point \(header.entryPoint) is not a node on the top level")
            }
        }
        graphTop.withLock { $0 = HNSWGraphTop(entryPoint: header.entryPoint, maxLevel: header.maxLevel) }
    }

    /// A link list's count must fit its slots, and every target must exist and reach the list's
    /// level (search reads the target's list on that level next).
    private func validateLinks(of node: Int, level: Int) throws {
        let graph = graphView(locking: false)
        guard let list = graph.linkList(UInt32(node), level: level) else {
            throw HNSWIndexError.corruptData("node \(node) has no links on its level \(level)")
        }
        let capacity = level == 0 ? maxLevel0Links : maxUpperLinks
        let linkCount = Int(list[0])
        guard linkCount <= capacity else {
            throw HNSWIndexError.corruptData("node \(node) has \(linkCount) links on level \(level), at most \(capacity) fit")
        }
        for index in 0..<linkCount {
            let target = Int(list[1 + index])
            guard target < nodeCount, Int(nodeLevels[target]) >= level else {
                throw HNSWIndexError.corruptData("node \(node) links to \(target) on level \(level), which has no such node")
            }
        }
    }
}

/// Sizes of the payload sections for a given node count.
struct HNSWFormatLayout {
    let padding: Int
    let payloadBytes: Int

    init(nodeCount: Int, dimension: Int, level0Stride: Int, upperWords: Int) {
        padding = HNSWFormatLayout.padding(nodeCount: nodeCount)
        payloadBytes = nodeCount * 8 + nodeCount * 2 + padding + nodeCount * dimension * 4 + nodeCount * level0Stride * 4 + upperWords * 4
    }

    /// Zero bytes after the 10-byte-per-node id/level/flag sections that 4-align the words after them.
    static func padding(nodeCount: Int) -> Int {
        (4 - (nodeCount * 10) % 4) % 4
    }
}

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
        var reader = HNSWByteReader(source: raw, offset: HNSWIndex.formatMagic.count, end: HNSWIndex.formatHeaderSize)
        let version: UInt32 = try reader.read()
        guard version == HNSWIndex.formatVersion else {
            throw HNSWIndexError.unsupportedVersion(found: version, supported: HNSWIndex.formatVersion)
        }
        let flags: UInt32 = try reader.read()
        dimension = Int(try reader.read() as UInt32)
        let m = Int(try reader.read() as UInt32)
        let efConstruction = Int(try reader.read() as UInt32)
        let efSearch = Int(try reader.read() as UInt32)
        nodeCount = Int(try reader.read() as UInt32)
        entryPoint = try reader.read()
        maxLevel = Int(try reader.read() as UInt32)
        let reserved: UInt32 = try reader.read()
        generatorState = try reader.read()
        let payload: UInt64 = try reader.read()
        parameters = HNSWParameters(m: m, efConstruction: efConstruction, efSearch: efSearch)

        // The length check comes before the checksum so that a cut-off file says "truncated".
        guard payload <= UInt64(Int.max - minimum), raw.count == minimum + Int(payload) else {
            let expected = payload <= UInt64(Int.max - minimum) ? minimum + Int(payload) : Int.max
            throw HNSWIndexError.truncatedData(expectedBytes: expected, actualBytes: raw.count)
        }
        payloadBytes = Int(payload)
        let body = UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - HNSWIndex.formatChecksumSize)])
        var trailer = HNSWByteReader(source: raw, offset: body.count, end: raw.count)
        let stored: UInt64 = try trailer.read()
        let computed = HNSWChecksum.hash(body)
        guard stored == computed else {
            throw HNSWIndexError.checksumMismatch(stored: stored, computed: computed)
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

/// Sequential little-endian writer into a buffer sized in advance.
struct HNSWByteWriter {
    let destination: UnsafeMutableRawBufferPointer
    private(set) var offset = 0

    init(destination: UnsafeMutableRawBufferPointer) {
        self.destination = destination
    }

    mutating func write<Value: FixedWidthInteger>(_ value: Value) {
        destination.storeBytes(of: value.littleEndian, toByteOffset: offset, as: Value.self)
        offset += MemoryLayout<Value>.size
    }

    mutating func write(bytes: [UInt8]) {
        for byte in bytes { write(byte) }
    }

    mutating func write<Value: FixedWidthInteger>(array: UnsafePointer<Value>, count: Int) {
        let byteCount = count * MemoryLayout<Value>.size
        #if _endian(little)
        UnsafeMutableRawBufferPointer(rebasing: destination[offset..<(offset + byteCount)])
            .copyMemory(from: UnsafeRawBufferPointer(start: array, count: byteCount))
        offset += byteCount
        #else
        for index in 0..<count { write(array[index]) }
        #endif
    }
}

/// Sequential little-endian reader that throws instead of reading past `end`.
struct HNSWByteReader {
    let source: UnsafeRawBufferPointer
    private(set) var offset: Int
    let end: Int

    init(source: UnsafeRawBufferPointer, offset: Int, end: Int) {
        self.source = source
        self.offset = offset
        self.end = min(end, source.count)
    }

    private func require(_ byteCount: Int) throws {
        guard byteCount >= 0, byteCount <= end - offset else {
            throw HNSWIndexError.corruptData("a section runs past the end of the payload at byte \(offset)")
        }
    }

    mutating func read<Value: FixedWidthInteger>() throws -> Value {
        try require(MemoryLayout<Value>.size)
        let value = source.loadUnaligned(fromByteOffset: offset, as: Value.self)
        offset += MemoryLayout<Value>.size
        return Value(littleEndian: value)
    }

    mutating func skip(_ byteCount: Int) throws {
        try require(byteCount)
        offset += byteCount
    }

    mutating func read<Value: FixedWidthInteger>(into destination: UnsafeMutablePointer<Value>, count: Int) throws {
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Value>.size)
        guard !overflow else { throw HNSWIndexError.corruptData("section size overflows") }
        try require(byteCount)
        guard let start = source.baseAddress else { return }
        UnsafeMutableRawPointer(destination).copyMemory(from: start + offset, byteCount: byteCount)
        #if _endian(big)
        for index in 0..<count { destination[index] = Value(littleEndian: destination[index]) }
        #endif
        offset += byteCount
    }
}

/// XXH64 (Yann Collet's xxHash, 64-bit, seed 0): detects any bit flip or truncation with
/// overwhelming probability and runs at memory speed, so checking a multi-hundred-megabyte
/// index costs little next to reading it.
enum HNSWChecksum {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inline(__always)
    private static func rotateLeft(_ value: UInt64, _ bits: UInt64) -> UInt64 {
        (value << bits) | (value >> (64 - bits))
    }

    @inline(__always)
    private static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        rotateLeft(accumulator &+ input &* prime2, 31) &* prime1
    }

    @inline(__always)
    private static func merge(_ hash: UInt64, _ accumulator: UInt64) -> UInt64 {
        (hash ^ round(0, accumulator)) &* prime1 &+ prime4
    }

    static func hash(_ data: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let length = data.count
        var offset = 0
        var hash: UInt64
        @inline(__always) func word64(_ at: Int) -> UInt64 {
            UInt64(littleEndian: data.loadUnaligned(fromByteOffset: at, as: UInt64.self))
        }
        if length >= 32 {
            var lane1 = seed &+ prime1 &+ prime2
            var lane2 = seed &+ prime2
            var lane3 = seed
            var lane4 = seed &- prime1
            while offset + 32 <= length {
                lane1 = round(lane1, word64(offset))
                lane2 = round(lane2, word64(offset + 8))
                lane3 = round(lane3, word64(offset + 16))
                lane4 = round(lane4, word64(offset + 24))
                offset += 32
            }
            hash = rotateLeft(lane1, 1) &+ rotateLeft(lane2, 7) &+ rotateLeft(lane3, 12) &+ rotateLeft(lane4, 18)
            hash = merge(hash, lane1)
            hash = merge(hash, lane2)
            hash = merge(hash, lane3)
            hash = merge(hash, lane4)
        } else {
            hash = seed &+ prime5
        }
        hash &+= UInt64(length)
        while offset + 8 <= length {
            hash ^= round(0, word64(offset))
            hash = rotateLeft(hash, 27) &* prime1 &+ prime4
            offset += 8
        }
        if offset + 4 <= length {
            let word = UInt64(UInt32(littleEndian: data.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            hash ^= word &* prime1
            hash = rotateLeft(hash, 23) &* prime2 &+ prime3
            offset += 4
        }
        while offset < length {
            hash ^= UInt64(data[offset]) &* prime5
            hash = rotateLeft(hash, 11) &* prime1
            offset += 1
        }
        hash ^= hash >> 33
        hash &*= prime2
        hash ^= hash >> 29
        hash &*= prime3
        hash ^= hash >> 32
        return hash
    }
}
