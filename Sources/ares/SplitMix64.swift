/// A small seeded generator (SplitMix64): the moments of the kills are random but repeatable
/// from the seed the report states.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }

    /// `count` distinct numbers of `0..<population`, each drawn at random (fewer when the
    /// population is smaller), in ascending order: which replicas a kill takes.
    mutating func choose(_ count: Int, of population: Int) -> [Int] {
        var pool = Array(0..<max(0, population))
        var chosen: [Int] = []
        for _ in 0..<max(0, count) where !pool.isEmpty {
            let pick = min(pool.count - 1, Int(nextUnit() * Double(pool.count)))
            chosen.append(pool.remove(at: pick))
        }
        return chosen.sorted()
    }
}
