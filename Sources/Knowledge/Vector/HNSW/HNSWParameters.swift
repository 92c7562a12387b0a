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
