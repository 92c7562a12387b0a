/// A growable binary max-heap of search keys on a manually managed buffer: pushes allocate only
/// when the buffer doubles, and the buffer is kept across searches in a `HNSWSearchScratch`.
struct HNSWKeyHeap {
    private(set) var storage: UnsafeMutablePointer<UInt64>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        storage = .allocate(capacity: self.capacity)
    }

    func deallocate() { storage.deallocate() }

    var top: UInt64 {
        @inline(__always) get { storage[0] }
    }

    @inline(__always)
    mutating func removeAll() { count = 0 }

    @inline(__always)
    mutating func push(_ key: UInt64) {
        if count == capacity { grow() }
        var hole = count
        count &+= 1
        while hole > 0 {
            let parent = (hole &- 1) >> 1
            let parentKey = storage[parent]
            if parentKey >= key { break }
            storage[hole] = parentKey
            hole = parent
        }
        storage[hole] = key
    }

    /// Removes and returns the largest key. The heap must not be empty.
    @inline(__always)
    mutating func pop() -> UInt64 {
        let result = storage[0]
        count &-= 1
        guard count > 0 else { return result }
        let last = storage[count]
        var hole = 0
        while true {
            var child = hole &* 2 &+ 1
            if child >= count { break }
            if child &+ 1 < count && storage[child &+ 1] > storage[child] { child &+= 1 }
            if storage[child] <= last { break }
            storage[hole] = storage[child]
            hole = child
        }
        storage[hole] = last
        return result
    }

    private mutating func grow() {
        let newCapacity = capacity * 2
        let newStorage = UnsafeMutablePointer<UInt64>.allocate(capacity: newCapacity)
        newStorage.moveInitialize(from: storage, count: count)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
    }
}
