import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An approximate nearest-neighbour index over fixed-dimension float vectors: a Hierarchical
/// Navigable Small World graph (Malkov & Yashunin, 2016), built and searched the way hnswlib does.
///
/// **Distance.** Cosine distance, 1 − cos θ. Vectors are normalized to unit length on insert and
/// queries on search, so callers may pass unnormalized vectors (unit-length input, as from most
/// embedders, is the expected case and comes through unchanged up to rounding); the index then
/// works with plain dot products, 1 − a·b. Vectors holding NaN or infinity are rejected. A zero
/// vector (an embedder's answer for text without content) is stored as zero, at distance 1 from
/// every query; a zero query has no direction and returns no results.
///
/// **Concurrency contract.** `search` only reads and may run on any number of threads at once.
/// `insert`, `insert(batch:threads:)`, `remove` and `reserveCapacity` mutate: the caller must not
/// run them concurrently with each other or with `search` (wrap the index in an actor, or in a
/// reader-writer lock, for mixed workloads). `insert(batch:threads:)` parallelizes internally
/// (on Dispatch worker threads, blocking the caller until done) and is safe by itself.
/// `serialized()` is a reader.
///
/// **Deletion.** `remove` marks a node deleted (a tombstone): it never appears in results but
/// stays in the graph as a waypoint, so search quality for the remaining vectors is unchanged.
/// Re-inserting an id tombstones the old node and adds a new one. Tombstones keep their memory
/// (`deletedCount` says how many); rebuilding from the live vectors (`vector(id:)`) reclaims it.
///
/// **Layout.** All vectors live in one contiguous, 64-byte aligned float buffer; level-0 links in
/// one flat array with a fixed stride of 1 + 2·m words (a count, then the neighbours); upper
/// levels, which only ~1/m of the nodes have, in one small block per such node. Searches borrow
/// their scratch (visited marks with a generation counter, two binary heaps) from a pool, so a
/// search allocates only its result array.
public final class HNSWIndex: @unchecked Sendable {
    // @unchecked: the mutable storage below is guarded by the documented contract (mutations are
    // serialized by the caller); the parallel batch build guards link lists with `linkLocks` and
    // the entry point with `graphTop`.

    /// Number of values in every vector.
    public let dimension: Int
    /// The parameters in effect (after clamping out-of-range values).
    public let parameters: HNSWParameters

    /// Live vectors: inserted and not removed.
    public var count: Int { nodeByID.count }

    /// Internal node numbers are UInt32; the top value marks "no entry point".
    static let maximumNodeCount = Int(UInt32.max - 1)
    static let noNode = UInt32.max
    /// A level is stored in a byte; with m ≥ 2 level 31 already has probability ~2⁻³¹.
    static let maximumLevel = 31

    let maxUpperLinks: Int
    let maxLevel0Links: Int
    let level0Stride: Int
    let upperStride: Int
    /// 1/ln(m): node levels are drawn as ⌊−ln(U)·levelScale⌋, so each level has ~1/m of the nodes below.
    let levelScale: Double
    var levelGenerator: HNSWSplitMix64

    // Node storage. Node i owns slot i of every buffer; nodes are never moved or reused.
    var nodeCount = 0
    var nodeCapacity = 0
    var vectors: UnsafeMutablePointer<Float>
    var level0Links: UnsafeMutablePointer<UInt32>
    var upperLinks: UnsafeMutablePointer<UnsafeMutablePointer<UInt32>?>
    var nodeLevels: UnsafeMutablePointer<UInt8>
    var externalIDs: UnsafeMutablePointer<UInt64>
    var tombstones: UnsafeMutablePointer<UInt8>
    var tombstoneCount = 0
    var nodeByID: [UInt64: UInt32] = [:]

    /// Entry point and top level. A Mutex because parallel builders read it constantly and a
    /// builder whose node becomes the new top holds it for the whole of that insertion.
    let graphTop = Mutex(HNSWGraphTop(entryPoint: HNSWIndex.noNode, maxLevel: 0))
    let linkLocks = HNSWLinkLocks()
    let scratchPool = Mutex<[HNSWSearchScratch]>([])

    /// Creates an empty index. `seed` drives the random node levels, so builds are repeatable.
    public init(dimension: Int, parameters: HNSWParameters = .init(), seed: UInt64 = 42) {
        self.dimension = max(dimension, 0)
        let parameters = parameters.clamped
        self.parameters = parameters
        maxUpperLinks = parameters.m
        maxLevel0Links = 2 * parameters.m
        level0Stride = maxLevel0Links + 1
        upperStride = maxUpperLinks + 1
        levelScale = 1 / log(Double(parameters.m))
        levelGenerator = HNSWSplitMix64(seed: seed)
        vectors = HNSWIndex.allocateStorage(count: 0)
        level0Links = HNSWIndex.allocateStorage(count: 0)
        upperLinks = HNSWIndex.allocateStorage(count: 0)
        nodeLevels = HNSWIndex.allocateStorage(count: 0)
        externalIDs = HNSWIndex.allocateStorage(count: 0)
        tombstones = HNSWIndex.allocateStorage(count: 0)
    }

    deinit {
        for node in 0..<nodeCount {
            upperLinks[node]?.deallocate()
        }
        for storage in [UnsafeMutableRawPointer(vectors), UnsafeMutableRawPointer(level0Links), UnsafeMutableRawPointer(upperLinks),
                        UnsafeMutableRawPointer(nodeLevels), UnsafeMutableRawPointer(externalIDs), UnsafeMutableRawPointer(tombstones)] {
            storage.deallocate()
        }
        scratchPool.withLock { pool in
            for scratch in pool { scratch.deallocate() }
            pool.removeAll()
        }
    }

    // MARK: - Public API

    /// Removed or replaced vectors still held in the graph as waypoints.
    public var deletedCount: Int { tombstoneCount }

    /// Whether `id` is in the index (and not removed).
    public func contains(id: UInt64) -> Bool {
        nodeByID[id] != nil
    }

    /// The stored (unit-length) vector of a live id.
    public func vector(id: UInt64) -> [Float]? {
        guard let node = nodeByID[id] else { return nil }
        return Array(UnsafeBufferPointer(start: vectors + Int(node) * dimension, count: dimension))
    }

    /// Adds a vector, or replaces the vector stored under `id`.
    ///
    /// Throws (changing nothing) if the vector has the wrong dimension or holds a NaN or infinity.
    /// Not thread-safe: see the type's concurrency contract.
    public func insert(id: UInt64, vector: [Float]) throws {
        try insert(batch: [(id: id, vector: vector)], threads: 1)
    }

    /// Adds or replaces many vectors, building the graph on `threads` threads (values below 1
    /// mean 1). Within the batch a repeated id keeps its last vector.
    ///
    /// Every vector is checked before anything changes, so a throw leaves the index as it was.
    /// The insertion order across threads is not deterministic, so a parallel build gives a
    /// slightly different (equally good) graph from run to run; `threads: 1` is repeatable.
    public func insert(batch: [(id: UInt64, vector: [Float])], threads: Int) throws {
        guard !batch.isEmpty else { return }
        for item in batch {
            guard item.vector.count == dimension else {
                throw HNSWIndexError.dimensionMismatch(id: item.id, expected: dimension, actual: item.vector.count)
            }
            for value in item.vector where !value.isFinite {
                throw HNSWIndexError.nonFiniteValue(id: item.id)
            }
        }
        // A repeated id inside the batch keeps its last occurrence only.
        var lastPosition: [UInt64: Int] = [:]
        lastPosition.reserveCapacity(batch.count)
        for (position, item) in batch.enumerated() {
            lastPosition[item.id] = position
        }
        let positions = batch.indices.filter { lastPosition[batch[$0].id] == $0 }
        guard nodeCount + positions.count <= HNSWIndex.maximumNodeCount else {
            throw HNSWIndexError.capacityExceeded(maximumNodes: HNSWIndex.maximumNodeCount)
        }
        // Validated: from here on nothing throws. Normalize straight into the free slots past the
        // last node. Every node's storage exists before linking starts, so the parallel phase
        // never reallocates buffers that other threads are reading.
        reserveCapacity(nodeCount + positions.count)
        let firstNode = nodeCount
        for (row, position) in positions.enumerated() {
            let slot = vectors + (firstNode + row) * dimension
            batch[position].vector.withUnsafeBufferPointer { source in
                if let values = source.baseAddress {
                    _ = VectorMath.normalize(values, into: slot, count: dimension)
                }
            }
        }
        for position in positions {
            let id = batch[position].id
            if let previous = nodeByID[id] {
                tombstones[Int(previous)] = 1
                tombstoneCount += 1
            }
            registerNode(id: id)
        }
        linkNodes(firstNode..<nodeCount, threads: max(threads, 1))
    }

    /// Removes `id` from search results. Its node stays in the graph as a waypoint (see the type's
    /// note on deletion). Unknown ids are ignored. Not thread-safe: see the concurrency contract.
    public func remove(id: UInt64) {
        guard let node = nodeByID.removeValue(forKey: id) else { return }
        tombstones[Int(node)] = 1
        tombstoneCount += 1
    }

    /// The `k` nearest live vectors to `query`, nearest first, by cosine distance.
    ///
    /// `efSearch` (default: `parameters.efSearch`, and never less than k) trades speed for
    /// recall. Returns [] for an empty index, k < 1, or a query that has the wrong dimension,
    /// a NaN/infinite value, or is zero. Safe to call from many threads at once.
    ///
    /// Cost: a few hundred microseconds per query on 100k 384-dimensional vectors at efSearch
    /// 128; the only allocation is the result array.
    ///
    /// When k covers every live vector the answer comes from `exactSearch` instead: the graph
    /// can leave a node unreachable (insertion order and link pruning decide that, most often
    /// among near-identical vectors), and a caller asking for all of them must get all of them.
    public func search(_ query: [Float], k: Int, efSearch: Int? = nil) -> [VectorSearchResult] {
        guard k > 0, query.count == dimension, dimension > 0, !nodeByID.isEmpty else { return [] }
        if k >= nodeByID.count { return exactSearch(query, k: k) }
        let top = graphTop.withLock { $0 }
        guard top.entryPoint != HNSWIndex.noNode else { return [] }
        let ef = min(max(efSearch ?? parameters.efSearch, k, 1), HNSWParameters.maximumEf)

        let scratch = borrowScratch()
        defer { returnScratch(scratch) }
        guard prepareQuery(query, in: scratch) else { return [] }

        let graph = graphView(locking: false)
        let entry = graph.greedyDescent(
            query: scratch.query, from: top.entryPoint, topLevel: top.maxLevel, downTo: 0, scratch: scratch
        )
        graph.searchLayer(
            query: scratch.query, entry: entry.node, entryDistance: entry.distance, ef: ef, level: 0,
            skipTombstones: true, scratch: scratch
        )
        return nearestResults(in: scratch, k: k)
    }

    /// The `k` nearest live vectors to `query` by comparing it with every one of them: the same
    /// answer shape and ordering as `search`, with no approximation (ties go to the earlier node).
    ///
    /// Costs one dot product per stored vector, about 100 µs for 2,000 384-dimensional vectors,
    /// so it is the better choice for a small index, where it is as fast as the graph and never
    /// misses. Same argument checks as `search`; safe to call from many threads at once.
    public func exactSearch(_ query: [Float], k: Int) -> [VectorSearchResult] {
        guard k > 0, query.count == dimension, dimension > 0, !nodeByID.isEmpty else { return [] }
        let scratch = borrowScratch()
        defer { returnScratch(scratch) }
        guard prepareQuery(query, in: scratch) else { return [] }

        // A max-heap of the k best so far: its top is the worst kept, replaced by anything nearer.
        var nearest = scratch.nearest
        nearest.removeAll()
        for node in 0..<nodeCount where tombstones[node] == 0 {
            let distance = VectorMath.cosineDistance(scratch.query, vectors + node &* dimension, count: dimension)
            let key = HNSWSearchKey.make(distance: distance, node: UInt32(truncatingIfNeeded: node))
            if nearest.count < k {
                nearest.push(key)
            } else if key < nearest.top {
                _ = nearest.pop()
                nearest.push(key)
            }
        }
        scratch.nearest = nearest
        return nearestResults(in: scratch, k: k)
    }

    /// The query normalized into `scratch.query`; false when it has no direction (zero) or
    /// holds a NaN or infinity.
    private func prepareQuery(_ query: [Float], in scratch: HNSWSearchScratch) -> Bool {
        let normalized = query.withUnsafeBufferPointer { source in
            source.baseAddress.map { VectorMath.normalize($0, into: scratch.query, count: dimension) } ?? false
        }
        return normalized && !VectorMath.isZero(scratch.query, count: dimension)
    }

    /// The `k` nearest keys of `scratch.nearest` (a max-heap), nearest first, emptying it.
    private func nearestResults(in scratch: HNSWSearchScratch, k: Int) -> [VectorSearchResult] {
        var nearest = scratch.nearest
        defer { scratch.nearest = nearest }
        while nearest.count > k { _ = nearest.pop() }
        var results = [VectorSearchResult](repeating: VectorSearchResult(id: 0, distance: 0), count: nearest.count)
        var slot = nearest.count - 1
        while nearest.count > 0 {
            let key = nearest.pop()
            results[slot] = VectorSearchResult(id: externalIDs[Int(HNSWSearchKey.node(key))], distance: HNSWSearchKey.distance(key))
            slot -= 1
        }
        return results
    }

    /// Makes room for `nodeCount` nodes (deleted ones included) without further reallocation.
    /// Not thread-safe: see the concurrency contract.
    public func reserveCapacity(_ nodeCount: Int) {
        guard nodeCount > nodeCapacity else { return }
        // Grow by half at least, as Array does by doubling, so one-by-one inserts stay amortized O(1).
        let newCapacity = min(max(nodeCount, nodeCapacity + nodeCapacity / 2, 64), HNSWIndex.maximumNodeCount)
        let used = self.nodeCount

        vectors = HNSWIndex.reallocate(vectors, used: used * dimension, capacity: newCapacity * dimension)
        level0Links = HNSWIndex.reallocate(level0Links, used: used * level0Stride, capacity: newCapacity * level0Stride)
        upperLinks = HNSWIndex.reallocate(upperLinks, used: used, capacity: newCapacity)
        nodeLevels = HNSWIndex.reallocate(nodeLevels, used: used, capacity: newCapacity)
        externalIDs = HNSWIndex.reallocate(externalIDs, used: used, capacity: newCapacity)
        tombstones = HNSWIndex.reallocate(tombstones, used: used, capacity: newCapacity)
        nodeCapacity = newCapacity
    }

    /// An independent copy: the same graph, vectors, tombstones and level generator, in storage
    /// of its own, so one can change while the other is searched. A reader: safe alongside
    /// concurrent searches, not alongside mutations. Costs a copy of every buffer.
    func copy() -> HNSWIndex {
        let copy = HNSWIndex(dimension: dimension, parameters: parameters, seed: 0)
        copy.levelGenerator = levelGenerator
        copy.reserveCapacity(nodeCount)
        copy.vectors.initialize(from: vectors, count: nodeCount * dimension)
        copy.level0Links.initialize(from: level0Links, count: nodeCount * level0Stride)
        copy.nodeLevels.initialize(from: nodeLevels, count: nodeCount)
        copy.externalIDs.initialize(from: externalIDs, count: nodeCount)
        copy.tombstones.initialize(from: tombstones, count: nodeCount)
        for node in 0..<nodeCount {
            guard let block = upperLinks[node] else {
                copy.upperLinks[node] = nil
                continue
            }
            let words = Int(nodeLevels[node]) * upperStride
            let duplicate = UnsafeMutablePointer<UInt32>.allocate(capacity: words)
            duplicate.initialize(from: block, count: words)
            copy.upperLinks[node] = duplicate
        }
        // Every slot is set before the count, so deinit frees exactly what was allocated.
        copy.nodeCount = nodeCount
        copy.tombstoneCount = tombstoneCount
        copy.nodeByID = nodeByID
        let top = graphTop.withLock { $0 }
        copy.graphTop.withLock { $0 = top }
        return copy
    }

    // MARK: - Building

    /// Makes slot `nodeCount`, whose normalized vector is already stored, a new node that is
    /// not linked yet: draws its level and clears its link lists.
    private func registerNode(id: UInt64) {
        let node = nodeCount
        let level = randomLevel()
        nodeLevels[node] = UInt8(level)
        (level0Links + node * level0Stride).initialize(repeating: 0, count: level0Stride)
        if level > 0 {
            let block = UnsafeMutablePointer<UInt32>.allocate(capacity: level * upperStride)
            block.initialize(repeating: 0, count: level * upperStride)
            upperLinks[node] = block
        } else {
            upperLinks[node] = nil
        }
        externalIDs[node] = id
        tombstones[node] = 0
        nodeCount += 1
        nodeByID[id] = UInt32(node)
    }

    func randomLevel() -> Int {
        // 53 random bits → U in (0, 1]; -ln(U) is then finite.
        let uniform = (Double(levelGenerator.next() >> 11) + 1) * 0x1p-53
        let level = -log(uniform) * levelScale
        return level < Double(HNSWIndex.maximumLevel) ? Int(level) : HNSWIndex.maximumLevel
    }

    /// Links already-stored nodes into the graph, on several threads when asked.
    private func linkNodes(_ nodes: Range<Int>, threads: Int) {
        guard !nodes.isEmpty else { return }
        let workers = min(threads, nodes.count)
        if workers <= 1 {
            let scratch = borrowScratch()
            defer { returnScratch(scratch) }
            let graph = graphView(locking: false)
            for node in nodes { link(UInt32(node), graph: graph, scratch: scratch) }
            return
        }
        var remaining = nodes
        // The first node of an empty graph becomes its entry point; link it before the others
        // so they all have somewhere to start.
        if graphTop.withLock({ $0.entryPoint }) == HNSWIndex.noNode {
            let scratch = borrowScratch()
            link(UInt32(remaining.lowerBound), graph: graphView(locking: false), scratch: scratch)
            returnScratch(scratch)
            remaining = remaining.dropFirst()
        }
        let cursor = HNSWWorkCursor(start: remaining.lowerBound)
        let end = remaining.upperBound
        let graph = graphView(locking: true)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            let scratch = self.borrowScratch()
            defer { self.returnScratch(scratch) }
            while true {
                let node = cursor.next()
                guard node < end else { break }
                self.link(UInt32(node), graph: graph, scratch: scratch)
            }
        }
    }

    /// Inserts one stored node into the graph (hnswlib's addPoint after storage).
    private func link(_ node: UInt32, graph: HNSWGraphView, scratch: HNSWSearchScratch) {
        let level = Int(nodeLevels[Int(node)])
        let snapshot = graphTop.withLock { $0 }
        if snapshot.entryPoint != HNSWIndex.noNode, level <= snapshot.maxLevel {
            graph.connect(node, level: level, entryPoint: snapshot.entryPoint, topLevel: snapshot.maxLevel,
                          efConstruction: parameters.efConstruction, maxUpperLinks: maxUpperLinks, scratch: scratch)
            return
        }
        // The node may become the new entry point: hold the top for the whole insertion so that
        // concurrent builders never start from a node that isn't linked yet.
        graphTop.withLock { top in
            if top.entryPoint == HNSWIndex.noNode {
                top = HNSWGraphTop(entryPoint: node, maxLevel: level)
                return
            }
            graph.connect(node, level: level, entryPoint: top.entryPoint, topLevel: top.maxLevel,
                          efConstruction: parameters.efConstruction, maxUpperLinks: maxUpperLinks, scratch: scratch)
            if level > top.maxLevel {
                top = HNSWGraphTop(entryPoint: node, maxLevel: level)
            }
        }
    }

    // MARK: - Scratch and views

    func graphView(locking: Bool) -> HNSWGraphView {
        HNSWGraphView(
            vectors: vectors, level0Links: level0Links, upperLinks: upperLinks, tombstones: tombstones,
            dimension: dimension, level0Stride: level0Stride, upperStride: upperStride,
            maxLevel0Links: maxLevel0Links, nodeCount: nodeCount, hasTombstones: tombstoneCount > 0,
            locks: locking ? linkLocks : nil
        )
    }

    func borrowScratch() -> HNSWSearchScratch {
        let pooled = scratchPool.withLock { $0.popLast() }
        return pooled ?? HNSWSearchScratch(dimension: dimension, neighborCapacity: level0Stride, selectionCapacity: level0Stride + 1)
    }

    func returnScratch(_ scratch: HNSWSearchScratch) {
        scratchPool.withLock { $0.append(scratch) }
    }

    /// Storage for `count` elements, 64-byte aligned so that vectors of a dimension divisible
    /// by 16 start on a cache line. Buffers of 8 MB and more are aligned to 2 MB and, on Linux,
    /// marked for transparent huge pages: search touches vectors all over the buffer, and with
    /// 4 KB pages nearly every one of those touches is also a TLB miss.
    static func allocateStorage<Element>(count: Int) -> UnsafeMutablePointer<Element> {
        let hugePage = 2 << 20
        var byteCount = max(count, 1) * MemoryLayout<Element>.stride
        let huge = byteCount >= 4 * hugePage
        if huge { byteCount = (byteCount + hugePage - 1) / hugePage * hugePage }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: huge ? hugePage : 64)
        #if os(Linux)
        if huge { _ = madvise(raw, byteCount, MADV_HUGEPAGE) }
        #endif
        return raw.bindMemory(to: Element.self, capacity: max(count, 1))
    }

    /// Moves the first `used` elements into new storage for `capacity` elements.
    static func reallocate<Element>(_ old: UnsafeMutablePointer<Element>, used: Int, capacity: Int) -> UnsafeMutablePointer<Element> {
        let new: UnsafeMutablePointer<Element> = allocateStorage(count: capacity)
        new.moveInitialize(from: old, count: used)
        UnsafeMutableRawPointer(old).deallocate()
        return new
    }
}

/// Entry point of the graph and the level it sits on.
struct HNSWGraphTop: Sendable {
    var entryPoint: UInt32
    var maxLevel: Int
}
