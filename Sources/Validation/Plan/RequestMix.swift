/// The weights of the request kinds in a load phase. Requests follow the weights exactly over
/// every cycle of `totalWeight` requests (a smooth weighted round-robin, so kinds interleave
/// instead of arriving in runs), which makes a run's mix deterministic and repeatable.
public struct RequestMix: Sendable, Codable, Equatable {
    public var weights: [RequestKind: Int]

    public init(weights: [RequestKind: Int]) { self.weights = weights }

    /// What an orchestrator mostly does: poll tasks and read the card; submit, list, search and
    /// follow less often.
    public static let orchestrator = RequestMix(weights: [
        .sendMessage: 5, .getTask: 40, .listTasks: 10, .subscribeToTask: 2, .agentCard: 25, .search: 18,
    ])

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode([String: Int].self)
        var weights: [RequestKind: Int] = [:]
        for (name, weight) in raw {
            guard let kind = RequestKind(rawValue: name) else {
                throw PlanError("mix: unknown request kind '\(name)'; the kinds are \(RequestKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            weights[kind] = weight
        }
        self.weights = weights
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Dictionary(uniqueKeysWithValues: weights.map { ($0.key.rawValue, $0.value) }))
    }

    public func validate(_ context: String) throws {
        for (kind, weight) in weights where weight < 0 || weight > 10_000 {
            throw PlanError("\(context).\(kind.rawValue): a weight is between 0 and 10000 (got \(weight))")
        }
        guard weights.values.contains(where: { $0 > 0 }) else {
            throw PlanError("\(context): at least one request kind needs a weight above 0")
        }
        let total = weights.values.reduce(0) { $0 + max(0, $1) }
        guard total <= 10_000 else { throw PlanError("\(context): the weights add up to \(total); keep the sum at most 10000") }
    }

    /// One cycle of the schedule: each kind as often as its weight, interleaved.
    public func cycle() -> [RequestKind] {
        let active = RequestKind.allCases.compactMap { kind -> (RequestKind, Int)? in
            // Clamped as `validate` requires, so an unvalidated mix cannot overflow or exhaust memory.
            guard let weight = weights[kind], weight > 0 else { return nil }
            return (kind, min(weight, 10_000))
        }
        let total = active.reduce(0) { $0 + $1.1 }
        guard total > 0 else { return [] }
        var current = Array(repeating: 0, count: active.count)
        var cycle: [RequestKind] = []
        cycle.reserveCapacity(total)
        for _ in 0..<total {
            var best = 0
            for index in active.indices {
                current[index] += active[index].1
                if current[index] > current[best] { best = index }
            }
            current[best] -= total
            cycle.append(active[best].0)
        }
        return cycle
    }
}
