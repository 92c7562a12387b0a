import Foundation

/// A validation plan: phases in order, the request mix, the thresholds the gates apply, and
/// how the generator talks to the target. Read from JSON (docs/validation.md), or built in
/// (`seed`, `quick`). A plan file is checked completely before anything runs: an unknown key,
/// a missing rate or a ratio above 1 is refused with where and what was wrong.
public struct ValidationPlan: Sendable, Codable, Equatable {
    public var name: String
    public var description: String?
    public var mix: RequestMix?
    public var thresholds: PhaseThresholds?
    public var phases: [PlanPhase]
    /// How long one request may take before it counts as a timeout (default 30 s).
    public var requestTimeoutSeconds: Double?
    /// The generator's concurrency bound and connection pool size (default 512).
    public var maximumInFlight: Int?
    /// How long after its due time a request may wait for a free slot before it counts as unsent (default 1 s).
    public var sendDeadlineSeconds: Double?

    public init(name: String, description: String? = nil, mix: RequestMix? = nil, thresholds: PhaseThresholds? = nil, phases: [PlanPhase],
                requestTimeoutSeconds: Double? = nil, maximumInFlight: Int? = nil, sendDeadlineSeconds: Double? = nil) {
        self.name = name
        self.description = description
        self.mix = mix
        self.thresholds = thresholds
        self.phases = phases
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.maximumInFlight = maximumInFlight
        self.sendDeadlineSeconds = sendDeadlineSeconds
    }

    static let keys: Set<String> = ["name", "description", "mix", "thresholds", "phases", "requestTimeoutSeconds", "maximumInFlight", "sendDeadlineSeconds"]

    /// The plan's mix, else the orchestrator mix.
    public var effectiveMix: RequestMix { mix ?? .orchestrator }
    /// The plan's thresholds over the defaults.
    public var effectiveThresholds: PhaseThresholds { (thresholds ?? PhaseThresholds()).merged(over: .defaults) }

    public func thresholds(of phase: PlanPhase) -> PhaseThresholds {
        (phase.thresholds ?? PhaseThresholds()).merged(over: effectiveThresholds)
    }

    /// A built-in plan by name, or the plan in a JSON file.
    public static func named(_ nameOrPath: String) throws -> ValidationPlan {
        switch nameOrPath {
        case "seed": return .seed
        case "quick": return .quick
        default:
            guard let data = FileManager.default.contents(atPath: nameOrPath) else {
                throw PlanError("--plan: '\(nameOrPath)' is neither a built-in plan (seed, quick) nor a readable file")
            }
            do {
                return try decode(data)
            } catch let error as PlanError {
                throw PlanError("\(nameOrPath): \(error.description)")
            }
        }
    }

    /// Decodes and validates a plan file. Unknown keys are refused (a misspelt threshold would
    /// otherwise be silently replaced by the default).
    public static func decode(_ data: Data) throws -> ValidationPlan {
        guard data.count <= 1 << 20 else { throw PlanError("a plan file is at most 1 MiB (this one has \(data.count) bytes)") }
        let raw: Any
        do {
            raw = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw PlanError("not valid JSON: \(error.localizedDescription)")
        }
        guard let object = raw as? [String: Any] else { throw PlanError("the plan must be a JSON object") }
        try checkKeys(object, allowed: keys, context: "plan")
        if let thresholds = object["thresholds"] as? [String: Any] { try checkKeys(thresholds, allowed: PhaseThresholds.keys, context: "thresholds") }
        if let phases = object["phases"] as? [Any] {
            for (index, phase) in phases.enumerated() {
                guard let phase = phase as? [String: Any] else { throw PlanError("phases[\(index)]: must be an object") }
                try checkKeys(phase, allowed: PlanPhase.keys, context: "phases[\(index)]")
                if let thresholds = phase["thresholds"] as? [String: Any] {
                    try checkKeys(thresholds, allowed: PhaseThresholds.keys, context: "phases[\(index)].thresholds")
                }
            }
        }
        let plan: ValidationPlan
        do {
            plan = try JSONDecoder().decode(ValidationPlan.self, from: data)
        } catch let error as PlanError {
            throw error
        } catch let DecodingError.keyNotFound(key, context) {
            throw PlanError("\(path(context.codingPath + [key])): required")
        } catch let DecodingError.typeMismatch(type, context) {
            throw PlanError("\(path(context.codingPath)): expected \(type)")
        } catch let DecodingError.dataCorrupted(context) {
            throw PlanError("\(path(context.codingPath)): \(context.debugDescription)")
        } catch {
            throw PlanError("\(error)")
        }
        try plan.validate()
        return plan
    }

    public func validate() throws {
        guard !name.isEmpty, name.count <= 100 else { throw PlanError("name: 1 to 100 characters") }
        guard !phases.isEmpty, phases.count <= 1000 else { throw PlanError("phases: between 1 and 1000 phases (got \(phases.count))") }
        try mix?.validate("mix")
        try thresholds?.validate("thresholds")
        var names = Set<String>()
        for (index, phase) in phases.enumerated() {
            try phase.validate("phases[\(index)]")
            guard names.insert(phase.name).inserted else { throw PlanError("phases[\(index)].name: '\(phase.name)' is used twice") }
        }
        if let requestTimeoutSeconds, !(requestTimeoutSeconds.isFinite && requestTimeoutSeconds > 0 && requestTimeoutSeconds <= 3600) {
            throw PlanError("requestTimeoutSeconds: between 0 and 3600 (got \(requestTimeoutSeconds))")
        }
        if let maximumInFlight, !(1...100_000).contains(maximumInFlight) {
            throw PlanError("maximumInFlight: between 1 and 100000 (got \(maximumInFlight))")
        }
        if let sendDeadlineSeconds, !(sendDeadlineSeconds.isFinite && sendDeadlineSeconds >= 0 && sendDeadlineSeconds <= 60) {
            throw PlanError("sendDeadlineSeconds: between 0 and 60 (got \(sendDeadlineSeconds))")
        }
    }

    private static func checkKeys(_ object: [String: Any], allowed: Set<String>, context: String) throws {
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw PlanError("\(context): unknown key '\(unknown.prefix(100))'; the keys are \(allowed.sorted().joined(separator: ", "))")
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
    }
}
