/// Everything one search or one insertion needs besides the graph, reused across calls so
/// that the hot path does not allocate. One thread uses a scratch at a time; the index's pool
/// hands them out.
final class HNSWSearchScratch: @unchecked Sendable {
    let query: UnsafeMutablePointer<Float>
    let neighborBuffer: UnsafeMutablePointer<UInt32>
    /// Unvisited neighbours of the node being expanded, waiting for their distances.
    let pendingBuffer: UnsafeMutablePointer<UInt32>
    /// The neighbours chosen for a new node (≤ m keys), and, separately because pruning runs
    /// while that selection is being walked, the input and output of reverse-link pruning.
    let selected: UnsafeMutablePointer<UInt64>
    let pruneKeys: UnsafeMutablePointer<UInt64>
    let pruneSelected: UnsafeMutablePointer<UInt64>
    var visited = HNSWVisitedMarks()
    var candidates = HNSWKeyHeap(capacity: 256)
    var nearest = HNSWKeyHeap(capacity: 256)
    private(set) var sortedKeys: UnsafeMutablePointer<UInt64>
    private var sortedCapacity = 256

    init(dimension: Int, neighborCapacity: Int, selectionCapacity: Int) {
        query = HNSWIndex.allocateStorage(count: dimension)
        neighborBuffer = .allocate(capacity: neighborCapacity)
        pendingBuffer = .allocate(capacity: neighborCapacity + 1)
        selected = .allocate(capacity: selectionCapacity)
        pruneKeys = .allocate(capacity: selectionCapacity)
        pruneSelected = .allocate(capacity: selectionCapacity)
        sortedKeys = .allocate(capacity: sortedCapacity)
    }

    /// Room for `count` keys sorted out of the nearest heap.
    func reserveSortedKeys(_ count: Int) -> UnsafeMutablePointer<UInt64> {
        if count > sortedCapacity {
            sortedKeys.deallocate()
            sortedCapacity = max(count, sortedCapacity * 2)
            sortedKeys = .allocate(capacity: sortedCapacity)
        }
        return sortedKeys
    }

    func deallocate() {
        UnsafeMutableRawPointer(query).deallocate()
        neighborBuffer.deallocate()
        pendingBuffer.deallocate()
        selected.deallocate()
        pruneKeys.deallocate()
        pruneSelected.deallocate()
        sortedKeys.deallocate()
        visited.deallocate()
        candidates.deallocate()
        nearest.deallocate()
    }
}
