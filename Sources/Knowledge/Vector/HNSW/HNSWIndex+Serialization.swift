import BinaryCoding

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
        var writer = BinaryWriter(reservingCapacity: HNSWIndex.formatHeaderSize + layout.payloadBytes + HNSWIndex.formatChecksumSize)
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

        writer.write(contentsOf: UnsafeBufferPointer(start: externalIDs, count: nodeCount))
        writer.write(contentsOf: UnsafeBufferPointer(start: nodeLevels, count: nodeCount))
        writer.write(contentsOf: UnsafeBufferPointer(start: tombstones, count: nodeCount))
        writer.write(bytes: repeatElement(UInt8(0), count: layout.padding))
        vectors.withMemoryRebound(to: UInt32.self, capacity: nodeCount * dimension) {
            writer.write(contentsOf: UnsafeBufferPointer(start: $0, count: nodeCount * dimension))
        }
        writer.write(contentsOf: UnsafeBufferPointer(start: level0Links, count: nodeCount * level0Stride))
        for node in 0..<nodeCount {
            if let block = upperLinks[node] {
                writer.write(contentsOf: UnsafeBufferPointer(start: block, count: Int(nodeLevels[node]) * upperStride))
            }
        }
        writer.writeChecksum()
        return writer.bytes
    }

    /// Rebuilds an index from `serialized()` bytes. Throws `HNSWIndexError` with the reason if
    /// the data is truncated, damaged, of another format version, or not an index at all.
    public convenience init(serialized bytes: [UInt8]) throws {
        let header: HNSWFormatHeader
        do {
            header = try bytes.withUnsafeBytes { try HNSWFormatHeader(validating: $0) }
        } catch let error as BinaryReadError {
            throw HNSWIndexError(error)
        }
        self.init(dimension: header.dimension, parameters: header.parameters, seed: 0)
        guard parameters == header.parameters else {
            throw HNSWIndexError.corruptData("parameters out of range: \(header.parameters)")
        }
        levelGenerator = HNSWSplitMix64(seed: header.generatorState)
        do {
            try bytes.withUnsafeBytes { try loadPayload($0, header: header) }
        } catch let error as BinaryReadError {
            throw HNSWIndexError(error)
        }
    }

    private func loadPayload(_ raw: UnsafeRawBufferPointer, header: HNSWFormatHeader) throws {
        let count = header.nodeCount
        var reader = BinaryReader(raw, offset: HNSWIndex.formatHeaderSize, end: raw.count - HNSWIndex.formatChecksumSize)
        reserveCapacity(count)
        // Every slot gets a defined upper-links pointer before nodeCount is set, so deinit can
        // free a half-loaded index if a check below throws.
        upperLinks.initialize(repeating: nil, count: count)
        nodeCount = count

        try reader.read(into: UnsafeMutableBufferPointer(start: externalIDs, count: count))
        try reader.read(into: UnsafeMutableBufferPointer(start: nodeLevels, count: count))
        try reader.read(into: UnsafeMutableBufferPointer(start: tombstones, count: count))
        try reader.skip(HNSWFormatLayout.padding(nodeCount: count))
        try vectors.withMemoryRebound(to: UInt32.self, capacity: count * dimension) {
            try reader.read(into: UnsafeMutableBufferPointer(start: $0, count: count * dimension))
        }
        try reader.read(into: UnsafeMutableBufferPointer(start: level0Links, count: count * level0Stride))

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
                try reader.read(into: UnsafeMutableBufferPointer(start: block, count: level * upperStride))
                upperWords += level * upperStride
            }
        }
        guard reader.isAtEnd else {
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

extension HNSWIndexError {
    /// A section that runs past the end of the payload.
    init(_ error: BinaryReadError) {
        self = .corruptData("a section runs past the end of the payload: \(error)")
    }
}
