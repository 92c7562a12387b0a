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
