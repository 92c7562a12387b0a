/// One gate's decision, with every measurement it was made from: the measured value, the
/// threshold and whether it held. A gate passes only when it has measurements and all hold,
/// so a gate never passes because nothing was measured.
public struct GateVerdict: Sendable, Codable, Equatable {
    public struct Measurement: Sendable, Codable, Equatable {
        /// What was measured, e.g. "load-500 p95 latency".
        public var name: String
        public var measured: String
        /// The condition it had to meet, e.g. "< 2000 ms".
        public var threshold: String
        public var passed: Bool

        public init(name: String, measured: String, threshold: String, passed: Bool) {
            self.name = name
            self.measured = measured
            self.threshold = threshold
            self.passed = passed
        }
    }

    public var gate: String
    public var measurements: [Measurement]
    public var passed: Bool { !measurements.isEmpty && measurements.allSatisfy(\.passed) }
    public var failures: [Measurement] { measurements.filter { !$0.passed } }

    public init(gate: String, measurements: [Measurement]) {
        self.gate = gate
        self.measurements = measurements
    }

    enum CodingKeys: String, CodingKey { case gate, passed, measurements }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        gate = try container.decode(String.self, forKey: .gate)
        measurements = try container.decode([Measurement].self, forKey: .measurements)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(gate, forKey: .gate)
        try container.encode(passed, forKey: .passed)
        try container.encode(measurements, forKey: .measurements)
    }
}
