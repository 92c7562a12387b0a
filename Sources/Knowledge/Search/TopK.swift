/// Selects the `k` highest-scoring elements without sorting everything: a bounded min-heap,
/// O(n log k). Ties are broken by the element order given, so results are deterministic.
enum TopK {
    static func select<Element>(_ k: Int, from elements: [Element], score: (Element) -> Float) -> [Element] {
        guard k > 0, !elements.isEmpty else { return [] }
        // Heap of (score, position); the root is the weakest kept element.
        var heap: [(score: Float, position: Int)] = []
        heap.reserveCapacity(min(k, elements.count))
        func weaker(_ a: (score: Float, position: Int), _ b: (score: Float, position: Int)) -> Bool {
            a.score < b.score || (a.score == b.score && a.position > b.position)
        }
        for (position, element) in elements.enumerated() {
            let candidate = (score: score(element), position: position)
            if heap.count < k {
                heap.append(candidate)
                var child = heap.count - 1
                while child > 0 {
                    let parent = (child - 1) / 2
                    guard weaker(heap[child], heap[parent]) else { break }
                    heap.swapAt(child, parent)
                    child = parent
                }
            } else if weaker(heap[0], candidate) {
                heap[0] = candidate
                var parent = 0
                while true {
                    let left = 2 * parent + 1, right = left + 1
                    var weakest = parent
                    if left < heap.count, weaker(heap[left], heap[weakest]) { weakest = left }
                    if right < heap.count, weaker(heap[right], heap[weakest]) { weakest = right }
                    if weakest == parent { break }
                    heap.swapAt(parent, weakest)
                    parent = weakest
                }
            }
        }
        return heap.sorted { weaker($1, $0) }.map { elements[$0.position] }
    }
}
