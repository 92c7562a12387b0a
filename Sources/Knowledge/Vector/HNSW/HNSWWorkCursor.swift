import Synchronization

/// Hands out consecutive work items to parallel builders.
final class HNSWWorkCursor: Sendable {
    private let position: Atomic<Int>

    init(start: Int) { position = Atomic(start) }

    func next() -> Int { position.wrappingAdd(1, ordering: .relaxed).oldValue }
}
