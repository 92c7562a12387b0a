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
