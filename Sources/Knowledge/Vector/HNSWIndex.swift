// TEMPORARY STUB — replaced by the real HNSW index.
import Foundation
public struct HNSWParameters: Sendable, Codable, Equatable {
    public var m: Int; public var efConstruction: Int; public var efSearch: Int
    public init(m: Int = 16, efConstruction: Int = 200, efSearch: Int = 64) { self.m = m; self.efConstruction = efConstruction; self.efSearch = efSearch }
}
public struct VectorSearchResult: Sendable, Equatable { public var id: UInt64; public var distance: Float }
public final class HNSWIndex: @unchecked Sendable {
    public let dimension: Int
    var vectors: [UInt64: [Float]] = [:]
    public init(dimension: Int, parameters: HNSWParameters = .init(), seed: UInt64 = 42) { self.dimension = dimension }
    public var count: Int { vectors.count }
    public func insert(id: UInt64, vector: [Float]) throws { vectors[id] = vector }
    public func insert(batch: [(id: UInt64, vector: [Float])], threads: Int) throws { for (id, v) in batch { vectors[id] = v } }
    public func remove(id: UInt64) { vectors[id] = nil }
    public func search(_ query: [Float], k: Int, efSearch: Int? = nil) -> [VectorSearchResult] {
        var all: [VectorSearchResult] = []
        for (id, v) in vectors { all.append(VectorSearchResult(id: id, distance: 1 - VectorNormalization.dot(v, query))) }
        all.sort { a, b in a.distance < b.distance }
        return Array(all.prefix(k))
    }
    public func serialized() -> [UInt8] {
        var w = BinaryWriter(); w.write(UInt64(dimension)); w.write(UInt64(vectors.count))
        for (id, v) in vectors.sorted(by: { $0.key < $1.key }) { w.write(id); w.writeFloats(v) }
        return w.bytes
    }
    public convenience init(serialized: [UInt8]) throws {
        var r = BinaryReader(serialized); let d = try r.read(UInt64.self, "d"); self.init(dimension: Int(d))
        let n = try r.read(UInt64.self, "n"); for _ in 0..<n { let id = try r.read(UInt64.self, "id"); vectors[id] = try r.readFloats("v") }
    }
}
