/// Visited marks for one search: node i was visited in this pass if marks[i] == generation.
/// Starting a pass bumps the generation instead of clearing the array (hnswlib's VisitedList);
/// only when the 16-bit generation wraps is the array cleared.
struct HNSWVisitedMarks {
    private var marks: UnsafeMutablePointer<UInt16>
    private var capacity: Int
    private var generation: UInt16 = 0

    init() {
        capacity = 0
        marks = .allocate(capacity: 1)
    }

    func deallocate() { marks.deallocate() }

    mutating func beginPass(nodeCount: Int) {
        if nodeCount > capacity {
            marks.deallocate()
            capacity = max(nodeCount, capacity + capacity / 2)
            marks = .allocate(capacity: capacity)
            marks.initialize(repeating: 0, count: capacity)
            generation = 0
        }
        generation &+= 1
        if generation == 0 {
            marks.update(repeating: 0, count: capacity)
            generation = 1
        }
    }

    /// Marks `node` visited; returns false if it already was in this pass.
    @inline(__always)
    mutating func insert(_ node: UInt32) -> Bool {
        let slot = marks + Int(node)
        if slot.pointee == generation { return false }
        slot.pointee = generation
        return true
    }
}
