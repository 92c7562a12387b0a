/// One phase of a validation plan. Load and soak phases hold `rate` for `durationSeconds`;
/// a stress phase starts at `rate`, multiplies it by `stepFactor` after every step of
/// `durationSeconds` until a step fails or `maximumRate` is passed, then holds `recoveryRate`
/// until requests meet the thresholds again. Chaos, failover and restore phases act on the
/// deployment and need `--manage`; chaos and restore run the mix at `rate` while they act, for
/// `durationSeconds` per part.
public struct PlanPhase: Sendable, Codable, Equatable {
    public var name: String
    public var kind: PhaseKind
    public var description: String?
    public var rate: Double?
    public var durationSeconds: Double?
    /// Whether the performance gate requires this level to pass (load phases; default true).
    public var mustPass: Bool?
    public var mix: RequestMix?
    public var thresholds: PhaseThresholds?
    public var stepFactor: Double?
    public var maximumRate: Double?
    public var recoveryRate: Double?

    public init(name: String, kind: PhaseKind, description: String? = nil, rate: Double? = nil, durationSeconds: Double? = nil,
                mustPass: Bool? = nil, mix: RequestMix? = nil, thresholds: PhaseThresholds? = nil, stepFactor: Double? = nil,
                maximumRate: Double? = nil, recoveryRate: Double? = nil) {
        self.name = name
        self.kind = kind
        self.description = description
        self.rate = rate
        self.durationSeconds = durationSeconds
        self.mustPass = mustPass
        self.mix = mix
        self.thresholds = thresholds
        self.stepFactor = stepFactor
        self.maximumRate = maximumRate
        self.recoveryRate = recoveryRate
    }

    static let keys: Set<String> = ["name", "kind", "description", "rate", "durationSeconds", "mustPass", "mix", "thresholds",
                                    "stepFactor", "maximumRate", "recoveryRate"]

    func validate(_ context: String) throws {
        guard !name.isEmpty, name.count <= 100, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw PlanError("\(context).name: 1 to 100 letters, digits, '-', '_' or '.' (got '\(name.prefix(100))')")
        }
        try mix?.validate("\(context).mix")
        try thresholds?.validate("\(context).thresholds")
        guard kind.isLoad else {
            // Chaos and restore run the mix while they act: a rate and a length (each part's)
            // are optional there, but checked when given.
            if let rate, !(rate.isFinite && rate > 0 && rate <= 1_000_000) {
                throw PlanError("\(context).rate: between 0 and 1000000 requests per second (got \(rate))")
            }
            if let durationSeconds, !(durationSeconds.isFinite && durationSeconds > 0 && durationSeconds <= 30 * 86400) {
                throw PlanError("\(context).durationSeconds: between 0 and 30 days in seconds (got \(durationSeconds))")
            }
            return
        }
        guard let rate, rate.isFinite, rate > 0, rate <= 1_000_000 else {
            throw PlanError("\(context).rate: a \(kind.rawValue) phase needs an arrival rate between 0 and 1000000 requests per second (got \(rate.map { "\($0)" } ?? "none"))")
        }
        guard let durationSeconds, durationSeconds.isFinite, durationSeconds > 0, durationSeconds <= 30 * 86400 else {
            throw PlanError("\(context).durationSeconds: a \(kind.rawValue) phase needs a duration between 0 and 30 days in seconds (got \(durationSeconds.map { "\($0)" } ?? "none"))")
        }
        guard kind == .stress else { return }
        if let stepFactor, !(stepFactor.isFinite && stepFactor > 1 && stepFactor <= 10) {
            throw PlanError("\(context).stepFactor: must be above 1 and at most 10 (got \(stepFactor))")
        }
        if let maximumRate, !(maximumRate.isFinite && maximumRate >= rate && maximumRate <= 1_000_000) {
            throw PlanError("\(context).maximumRate: must be at least the starting rate \(rate) and at most 1000000 (got \(maximumRate))")
        }
        if let recoveryRate, !(recoveryRate.isFinite && recoveryRate > 0 && recoveryRate <= 1_000_000) {
            throw PlanError("\(context).recoveryRate: must be above 0 and at most 1000000 (got \(recoveryRate))")
        }
    }
}
