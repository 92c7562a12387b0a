import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Shape of an HNSW graph and how hard build and search look for neighbours.
public struct HNSWParameters: Sendable, Codable, Equatable {
    /// Links kept per node on the upper levels; level 0 keeps up to 2·m. More links: higher
    /// recall at the same efSearch, more memory, slower build. Values below 2 are raised to 2.
    public var m: Int
    /// Candidate-list size while inserting. Larger builds a better graph, more slowly. Raised to at least m.
    public var efConstruction: Int
    /// Default candidate-list size while searching (at least k is always used). Larger: better recall, slower.
    public var efSearch: Int

    public init(m: Int = 16, efConstruction: Int = 200, efSearch: Int = 64) {
        self.m = m
        self.efConstruction = efConstruction
        self.efSearch = efSearch
    }

    /// The values the index actually runs with: out-of-range inputs are clamped rather than
    /// trapping, since an index must never crash on its configuration.
    var clamped: HNSWParameters {
        let links = min(max(m, 2), HNSWParameters.maximumM)
        return HNSWParameters(
            m: links,
            efConstruction: min(max(efConstruction, links), HNSWParameters.maximumEf),
            efSearch: min(max(efSearch, 1), HNSWParameters.maximumEf)
        )
    }

    /// Upper bounds that keep per-node link storage and search scratch sizes sane.
    static let maximumM = 1024
    static let maximumEf = 1 << 20
}

/// One hit of a nearest-neighbour search.
public struct VectorSearchResult: Sendable, Equatable {
    /// The caller's id of the vector.
    public var id: UInt64
    /// Cosine distance to the query, 1 − cos θ: 0 for the same direction, 2 for the opposite one.
    public var distance: Float

    public init(id: UInt64, distance: Float) {
        self.id = id
        self.distance = distance
    }
}

/// Why the index refused a vector or a serialized image.
public enum HNSWIndexError: Error, Equatable, CustomStringConvertible {
    case dimensionMismatch(id: UInt64, expected: Int, actual: Int)
    case nonFiniteValue(id: UInt64)
    case capacityExceeded(maximumNodes: Int)
    case truncatedData(expectedBytes: Int, actualBytes: Int)
    case notAnIndex
    case unsupportedVersion(found: UInt32, supported: UInt32)
    case checksumMismatch(stored: UInt64, computed: UInt64)
    case corruptData(String)

    public var description: String {
        switch self {
        case let .dimensionMismatch(id, expected, actual):
            "vector \(id) has \(actual) values, the index has dimension \(expected)"
        case let .nonFiniteValue(id):
            "vector \(id) contains a NaN or infinite value"
        case let .capacityExceeded(maximumNodes):
            "the index holds at most \(maximumNodes) nodes, deleted ones included"
        case let .truncatedData(expectedBytes, actualBytes):
            "serialized HNSW index is truncated or has trailing bytes: expected \(expectedBytes) bytes, got \(actualBytes)"
        case .notAnIndex:
            "data is not a serialized HNSW index (magic number missing)"
        case let .unsupportedVersion(found, supported):
            "serialized HNSW index has format version \(found); this build reads version \(supported)"
        case let .checksumMismatch(stored, computed):
            "serialized HNSW index is damaged: checksum \(String(stored, radix: 16)) stored, \(String(computed, radix: 16)) computed"
        case let .corruptData(reason):
            "serialized HNSW index is inconsistent: \(reason)"
        }
    }
}

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
    public func search(_ query: [Float], k: Int, efSearch: Int? = nil) -> [VectorSearchResult] {
        guard k > 0, query.count == dimension, dimension > 0, !nodeByID.isEmpty else { return [] }
        let top = graphTop.withLock { $0 }
        guard top.entryPoint != HNSWIndex.noNode else { return [] }
        let ef = min(max(efSearch ?? parameters.efSearch, k, 1), HNSWParameters.maximumEf)

        let scratch = borrowScratch()
        defer { returnScratch(scratch) }
        let normalized = query.withUnsafeBufferPointer { source in
            source.baseAddress.map { VectorMath.normalize($0, into: scratch.query, count: dimension) } ?? false
        }
        guard normalized, !VectorMath.isZero(scratch.query, count: dimension) else { return [] }

        let graph = graphView(locking: false)
        let entry = graph.greedyDescent(
            query: scratch.query, from: top.entryPoint, topLevel: top.maxLevel, downTo: 0, scratch: scratch
        )
        graph.searchLayer(
            query: scratch.query, entry: entry.node, entryDistance: entry.distance, ef: ef, level: 0,
            skipTombstones: true, scratch: scratch
        )
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

/// A (distance, node) pair packed into one UInt64 so that heaps compare and move single words:
/// the distance's bits, made order-preserving as an unsigned integer, above the node number.
/// Ties between equal distances are broken by node number, which keeps results deterministic.
enum HNSWSearchKey {
    @inline(__always)
    static func make(distance: Float, node: UInt32) -> UInt64 {
        let bits = distance.bitPattern
        // Positive floats order like their bit patterns once the sign bit is set; negative ones
        // (a distance can be −1e-7 after rounding) order reversed, so flip all their bits.
        let ordered = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return UInt64(ordered) << 32 | UInt64(node)
    }

    @inline(__always)
    static func node(_ key: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: key)
    }

    @inline(__always)
    static func distance(_ key: UInt64) -> Float {
        let ordered = UInt32(truncatingIfNeeded: key >> 32)
        return Float(bitPattern: ordered & 0x8000_0000 != 0 ? ordered & 0x7FFF_FFFF : ~ordered)
    }

    /// Sorts a short run ascending in place (reverse-link pruning sorts at most 2·m + 1 keys).
    static func insertionSort(_ keys: UnsafeMutablePointer<UInt64>, count: Int) {
        var index = 1
        while index < count {
            let key = keys[index]
            var hole = index
            while hole > 0 && keys[hole - 1] > key {
                keys[hole] = keys[hole - 1]
                hole -= 1
            }
            keys[hole] = key
            index += 1
        }
    }
}

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

/// Spin locks guarding link lists during a parallel build, striped over a fixed table (node
/// number modulo the table size). A builder never holds two of them at once, so two nodes
/// sharing a stripe can only make one wait briefly, never deadlock. Critical sections are a
/// copy or a short prune, so spinning beats sleeping; after a while a waiter yields its core.
final class HNSWLinkLocks: @unchecked Sendable {
    private static let stripeCount = 4096
    private let words: UnsafeMutablePointer<Atomic<UInt32>>

    init() {
        words = .allocate(capacity: HNSWLinkLocks.stripeCount)
        for index in 0..<HNSWLinkLocks.stripeCount {
            (words + index).initialize(to: Atomic(0))
        }
    }

    deinit {
        words.deinitialize(count: HNSWLinkLocks.stripeCount)
        words.deallocate()
    }

    @inline(__always)
    func lock(_ node: UInt32) {
        let word = words + Int(node & UInt32(HNSWLinkLocks.stripeCount - 1))
        while !word.pointee.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            var spins = 0
            while word.pointee.load(ordering: .relaxed) != 0 {
                spins += 1
                if spins >= 256 {
                    sched_yield()
                    spins = 0
                }
            }
        }
    }

    @inline(__always)
    func unlock(_ node: UInt32) {
        words[Int(node & UInt32(HNSWLinkLocks.stripeCount - 1))].store(0, ordering: .releasing)
    }
}

/// Hands out consecutive work items to parallel builders.
final class HNSWWorkCursor: Sendable {
    private let position: Atomic<Int>

    init(start: Int) { position = Atomic(start) }

    func next() -> Int { position.wrappingAdd(1, ordering: .relaxed).oldValue }
}

/// HNSWSplitMix64 (Steele, Lea & Flood): a tiny, fast, well-mixed generator whose whole state is one
/// word, so it is stored in the serialized index and a reloaded index draws the same levels.
struct HNSWSplitMix64: Sendable {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
