/// A condition `/health/ready` reports beside its own checks, supplied by the composition
/// (the shared database's connection and schema, say), so the server needs to know nothing
/// of what is checked.
public struct ReadinessCheck: Sendable {
    /// What a check found.
    public struct Outcome: Sendable, Equatable {
        public var ready: Bool
        public var detail: String

        public init(ready: Bool, detail: String) {
            self.ready = ready
            self.detail = detail
        }
    }

    /// The name in the answer's `checks`.
    public var name: String
    /// The check stands for the event store (its database answers), which is then not probed
    /// through the store itself: a store whose database just went away would make the probe
    /// wait for the pool's connect attempts (about a minute), longer than any probe timeout.
    public var coversEventStore: Bool
    public var check: @Sendable () async -> Outcome

    public init(name: String, coversEventStore: Bool = false, check: @escaping @Sendable () async -> Outcome) {
        self.name = name
        self.coversEventStore = coversEventStore
        self.check = check
    }
}
