/// A plan that cannot run, with what was wrong and where (`phases[2].rate: ...`).
public struct PlanError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
