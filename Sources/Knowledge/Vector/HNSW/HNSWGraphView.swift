/// The storage pointers of an index, copied into a struct so that hot loops read constants
/// instead of class properties (which carry exclusivity checks), plus the graph algorithms.
/// Valid while the index is not reallocated, which the concurrency contract guarantees.
struct HNSWGraphView: @unchecked Sendable {
    let vectors: UnsafeMutablePointer<Float>
    let level0Links: UnsafeMutablePointer<UInt32>
    let upperLinks: UnsafeMutablePointer<UnsafeMutablePointer<UInt32>?>
    let tombstones: UnsafeMutablePointer<UInt8>
    let dimension: Int
    let level0Stride: Int
    let upperStride: Int
    let maxLevel0Links: Int
    let nodeCount: Int
    let hasTombstones: Bool
    /// Set while several threads build: link lists are then read and written under a lock.
    let locks: HNSWLinkLocks?

    @inline(__always)
    func vector(_ node: UInt32) -> UnsafeMutablePointer<Float> {
        vectors + Int(node) &* dimension
    }

    @inline(__always)
    func distance(_ query: UnsafePointer<Float>, _ node: UInt32) -> Float {
        VectorMath.cosineDistance(query, vector(node), count: dimension)
    }

    @inline(__always)
    func distance(between a: UInt32, _ b: UInt32) -> Float {
        VectorMath.cosineDistance(vector(a), vector(b), count: dimension)
    }

    /// The link list of `node` on `level`: a count followed by that many neighbours.
    @inline(__always)
    func linkList(_ node: UInt32, level: Int) -> UnsafeMutablePointer<UInt32>? {
        if level == 0 { return level0Links + Int(node) &* level0Stride }
        return upperLinks[Int(node)].map { $0 + (level - 1) &* upperStride }
    }

    /// The neighbours of `node` on `level`. While building in parallel they are copied into
    /// `buffer` under the node's lock, so a concurrent writer can't be observed half-way.
    @inline(__always)
    func neighbors(of node: UInt32, level: Int, buffer: UnsafeMutablePointer<UInt32>) -> UnsafeBufferPointer<UInt32> {
        guard let list = linkList(node, level: level) else { return UnsafeBufferPointer(start: buffer, count: 0) }
        guard let locks else {
            return UnsafeBufferPointer(start: list + 1, count: Int(list[0]))
        }
        locks.lock(node)
        let count = Int(list[0])
        buffer.update(from: list + 1, count: count)
        locks.unlock(node)
        return UnsafeBufferPointer(start: buffer, count: count)
    }

    /// Greedy walk (ef = 1) from `start` on `topLevel` down to `targetLevel` + 1: at each level
    /// move to any closer neighbour until none is closer.
    func greedyDescent(query: UnsafePointer<Float>, from start: UInt32, topLevel: Int, downTo targetLevel: Int,
                       scratch: HNSWSearchScratch) -> (node: UInt32, distance: Float) {
        var current = start
        var currentDistance = distance(query, start)
        var level = topLevel
        while level > targetLevel {
            var changed = true
            while changed {
                changed = false
                for neighbor in neighbors(of: current, level: level, buffer: scratch.neighborBuffer) {
                    let candidateDistance = distance(query, neighbor)
                    if candidateDistance < currentDistance {
                        currentDistance = candidateDistance
                        current = neighbor
                        changed = true
                    }
                }
            }
            level -= 1
        }
        return (current, currentDistance)
    }

    /// Best-first search of one level (hnswlib's searchBaseLayer / searchBaseLayerST). Leaves the
    /// (at most) `ef` nearest nodes found in `scratch.nearest`, a max-heap of search keys.
    ///
    /// With `skipTombstones`, deleted nodes are walked through but not returned, and while
    /// tombstones exist the search keeps expanding until it has `ef` live results.
    func searchLayer(query: UnsafePointer<Float>, entry: UInt32, entryDistance: Float, ef: Int, level: Int,
                     skipTombstones: Bool, scratch: HNSWSearchScratch) {
        var visited = scratch.visited
        var candidates = scratch.candidates
        var nearest = scratch.nearest
        defer {
            scratch.visited = visited
            scratch.candidates = candidates
            scratch.nearest = nearest
        }
        visited.beginPass(nodeCount: nodeCount)
        candidates.removeAll()
        nearest.removeAll()
        let filtering = skipTombstones && hasTombstones
        let buffer = scratch.neighborBuffer
        let pending = scratch.pendingBuffer

        _ = visited.insert(entry)
        let entryKey = HNSWSearchKey.make(distance: entryDistance, node: entry)
        // `candidates` is a max-heap too; storing complemented keys turns it into a min-heap.
        candidates.push(~entryKey)
        var bound = UInt64.max
        if !(filtering && tombstones[Int(entry)] != 0) {
            nearest.push(entryKey)
            bound = entryKey
        }
        while candidates.count > 0 {
            let closest = ~candidates.top
            if closest > bound && (nearest.count >= ef || !filtering) { break }
            _ = candidates.pop()
            let links = neighbors(of: HNSWSearchKey.node(closest), level: level, buffer: buffer)
            // Gather the unvisited neighbours first, then measure them four at a time (see dot4).
            var pendingCount = 0
            for neighbor in links where visited.insert(neighbor) {
                pending[pendingCount] = neighbor
                pendingCount &+= 1
            }
            // A short tail is padded by repeating its last neighbour: the repeats hit the cache.
            var next = 0
            while next < pendingCount {
                let last = pendingCount &- 1
                let lanes = min(pendingCount &- next, 4)
                let distances = 1 - VectorMath.dot4(
                    query, vector(pending[next]), vector(pending[min(next &+ 1, last)]),
                    vector(pending[min(next &+ 2, last)]), vector(pending[min(next &+ 3, last)]), count: dimension
                )
                for lane in 0..<lanes {
                    let neighbor = pending[next &+ lane]
                    let key = HNSWSearchKey.make(distance: distances[lane], node: neighbor)
                    guard nearest.count < ef || key < bound else { continue }
                    candidates.push(~key)
                    if !(filtering && tombstones[Int(neighbor)] != 0) {
                        nearest.push(key)
                        if nearest.count > ef { _ = nearest.pop() }
                    }
                    if nearest.count > 0 { bound = nearest.top }
                }
                next &+= lanes
            }
        }
    }

    /// Links a stored node into every level from `min(level, topLevel)` down to 0 (hnswlib's
    /// addPoint): search each level with efConstruction, keep up to m neighbours chosen by the
    /// heuristic, and add the reverse links, pruning neighbours whose lists overflow.
    func connect(_ node: UInt32, level: Int, entryPoint: UInt32, topLevel: Int, efConstruction: Int,
                 maxUpperLinks: Int, scratch: HNSWSearchScratch) {
        let query = UnsafePointer(vector(node))
        var entry = greedyDescent(query: query, from: entryPoint, topLevel: topLevel, downTo: level, scratch: scratch)
        var currentLevel = min(level, topLevel)
        while currentLevel >= 0 {
            searchLayer(query: query, entry: entry.node, entryDistance: entry.distance, ef: efConstruction,
                        level: currentLevel, skipTombstones: false, scratch: scratch)
            // Pop the max-heap into ascending order.
            var nearest = scratch.nearest
            let candidateCount = nearest.count
            let sorted = scratch.reserveSortedKeys(candidateCount)
            var slot = candidateCount
            while nearest.count > 0 {
                slot -= 1
                sorted[slot] = nearest.pop()
            }
            scratch.nearest = nearest
            let selected = scratch.selected
            let selectedCount = selectByHeuristic(sorted, count: candidateCount, limit: maxUpperLinks, into: selected)

            // The node's own list: nobody else writes it yet, but readers may already see it.
            if let list = linkList(node, level: currentLevel) {
                locks?.lock(node)
                for index in 0..<selectedCount { list[1 + index] = HNSWSearchKey.node(selected[index]) }
                list[0] = UInt32(selectedCount)
                locks?.unlock(node)
            }
            let capacity = currentLevel == 0 ? maxLevel0Links : maxUpperLinks
            for index in 0..<selectedCount {
                addReverseLink(from: HNSWSearchKey.node(selected[index]), to: node, level: currentLevel,
                               capacity: capacity, scratch: scratch)
            }
            // hnswlib continues one level down from the closest selected neighbour.
            if selectedCount > 0 {
                entry = (HNSWSearchKey.node(selected[0]), HNSWSearchKey.distance(selected[0]))
            }
            currentLevel -= 1
        }
    }

    /// Adds `newNeighbor` to the list of `node`; a full list is re-chosen by the heuristic from
    /// its old members plus the newcomer.
    private func addReverseLink(from node: UInt32, to newNeighbor: UInt32, level: Int, capacity: Int,
                                scratch: HNSWSearchScratch) {
        guard let list = linkList(node, level: level) else { return }
        locks?.lock(node)
        defer { locks?.unlock(node) }
        let count = Int(list[0])
        if count < capacity {
            list[1 + count] = newNeighbor
            list[0] = UInt32(count + 1)
            return
        }
        let candidates = scratch.pruneKeys
        let base = UnsafePointer(vector(node))
        let members = scratch.pendingBuffer
        members[0] = newNeighbor
        (members + 1).update(from: list + 1, count: count)
        var next = 0
        while next <= count {
            let lanes = min(count + 1 - next, 4)
            let distances = 1 - VectorMath.dot4(
                base, vector(members[next]), vector(members[min(next + 1, count)]),
                vector(members[min(next + 2, count)]), vector(members[min(next + 3, count)]), count: dimension
            )
            for lane in 0..<lanes {
                candidates[next + lane] = HNSWSearchKey.make(distance: distances[lane], node: members[next + lane])
            }
            next += lanes
        }
        HNSWSearchKey.insertionSort(candidates, count: count + 1)
        let kept = selectByHeuristic(candidates, count: count + 1, limit: capacity, into: scratch.pruneSelected)
        for index in 0..<kept { list[1 + index] = HNSWSearchKey.node(scratch.pruneSelected[index]) }
        list[0] = UInt32(kept)
    }

    /// The neighbour-selection heuristic (Malkov & Yashunin, Algorithm 4, as hnswlib's
    /// getNeighborsByHeuristic2): walking candidates nearest first, keep one only if it is
    /// closer to the base node than to every neighbour kept so far. That spreads links across
    /// directions, which is what keeps clustered data navigable. `sorted` is ascending.
    func selectByHeuristic(_ sorted: UnsafeMutablePointer<UInt64>, count: Int, limit: Int,
                           into selected: UnsafeMutablePointer<UInt64>) -> Int {
        if count < limit {
            selected.update(from: sorted, count: count)
            return count
        }
        var selectedCount = 0
        for index in 0..<count {
            if selectedCount >= limit { break }
            let key = sorted[index]
            let candidate = HNSWSearchKey.node(key)
            let distanceToBase = HNSWSearchKey.distance(key)
            var keep = true
            for kept in 0..<selectedCount where distance(between: HNSWSearchKey.node(selected[kept]), candidate) < distanceToBase {
                keep = false
                break
            }
            if keep {
                selected[selectedCount] = key
                selectedCount += 1
            }
        }
        return selectedCount
    }
}
