/// The target's own numbers at one moment, read from its Prometheus /metrics: memory, CPU
/// time, the task queue. Absent series stay nil (another server, or a metric not exported).
public struct ServerMetricsSample: Sendable, Codable, Equatable {
    /// Seconds from the start of the run.
    public var seconds: Double
    public var residentBytes: Double?
    /// `process_cpu_seconds_total`: the report turns differences into CPU use.
    public var cpuSeconds: Double?
    public var queueDepth: Double?
    public var runningTasks: Double?

    /// Reads the series it knows from Prometheus text exposition; other lines are ignored.
    public static func parse(_ text: String, at seconds: Double) -> ServerMetricsSample {
        var sample = ServerMetricsSample(seconds: seconds)
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]), value.isFinite else { continue }
            let series = line[..<space].trimmingCharacters(in: .whitespaces)
            switch series {
            case "process_resident_memory_bytes": sample.residentBytes = value
            case "process_cpu_seconds_total": sample.cpuSeconds = value
            case "ares_task_queue_depth": sample.queueDepth = value
            case #"ares_tasks{state="running"}"#: sample.runningTasks = value
            default: continue
            }
        }
        return sample
    }

    public init(seconds: Double, residentBytes: Double? = nil, cpuSeconds: Double? = nil, queueDepth: Double? = nil, runningTasks: Double? = nil) {
        self.seconds = seconds
        self.residentBytes = residentBytes
        self.cpuSeconds = cpuSeconds
        self.queueDepth = queueDepth
        self.runningTasks = runningTasks
    }
}
