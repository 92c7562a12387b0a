@testable import PostgresStorage
import Testing

/// The bounded cache of stream heads forgets the oldest generation, never everything at once.
@Suite struct StreamHeadCacheTests {
    @Test func aRecentlyWrittenStreamIsRememberedAndTheOldestAreForgotten() {
        var cache = StreamHeadCache(capacity: 4)
        cache.remember("a", (1, "ha"))
        cache.remember("b", (1, "hb"))
        cache.remember("c", (1, "hc"))  // the newer generation was full: a and b become the older one
        #expect(cache["a"]?.hash == "ha" && cache["b"]?.hash == "hb" && cache["c"]?.hash == "hc")
        cache.remember("a", (2, "ha2"))  // written again: moves to the newer generation
        cache.remember("d", (1, "hd"))  // c and a become the older generation, b is forgotten
        #expect(cache["b"] == nil)
        #expect(cache["a"]?.version == 2 && cache["c"] != nil && cache["d"] != nil)
        cache.forget("a")
        #expect(cache["a"] == nil)
        for index in 0..<1_000 { cache.remember("s\(index)", (1, "h")) }
        #expect(cache["s999"] != nil && cache["s998"] != nil && cache["s0"] == nil)
    }
}
