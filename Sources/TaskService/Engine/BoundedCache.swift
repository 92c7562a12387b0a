/// Values by key, bounded: when the current generation reaches half the capacity it becomes
/// the previous one and the older is dropped. Cheaper than tracking recency on every hit; a
/// miss only costs recomputing the value.
public struct BoundedCache<Value> {
    private let capacity: Int
    private var current: [String: Value] = [:]
    private var previous: [String: Value] = [:]

    public init(capacity: Int) {
        self.capacity = max(2, capacity)
    }

    public func get(_ key: String) -> Value? {
        current[key] ?? previous[key]
    }

    public mutating func set(_ key: String, _ value: Value) {
        if current.count >= capacity / 2 {
            previous = current
            current = [:]
        }
        current[key] = value
    }

    public mutating func remove(_ key: String) {
        current[key] = nil
        previous[key] = nil
    }
}
