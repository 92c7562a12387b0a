import Foundation

/// Whether one load measurement meets a phase's thresholds, and in words which it broke.
public enum PhaseCheck {
    public static func failures(of measurement: LoadMeasurement, against thresholds: PhaseThresholds) -> [String] {
        var failures: [String] = []
        if measurement.total == 0 { return ["no request was due (the phase was too short for its rate)"] }
        if let limit = thresholds.p95Milliseconds {
            if measurement.ok == 0 {
                failures.append("no request succeeded")
            } else if !(measurement.latency.p95 < limit) {
                failures.append("p95 \(Format.milliseconds(measurement.latency.p95)) ≥ \(Format.milliseconds(limit))")
            }
        }
        if let ratio = thresholds.minimumThroughputRatio, measurement.askedRate > 0 {
            let achieved = measurement.achievedRate / measurement.askedRate
            if achieved < ratio {
                failures.append("throughput \(Format.rate(measurement.achievedRate)) is \(Format.percent(achieved)) of the asked \(Format.rate(measurement.askedRate)) (< \(Format.percent(ratio)))")
            }
        }
        if let maximum = thresholds.maximumErrorRate, measurement.errorRate > maximum {
            failures.append("errors \(Format.percent(measurement.errorRate)) > \(Format.percent(maximum)) (\(Format.outcomes(measurement.outcomes)))")
        }
        return failures
    }
}

/// Numbers as the reports print them.
public enum Format {
    public static func milliseconds(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f ms", value) : value >= 10 ? String(format: "%.1f ms", value) : String(format: "%.2f ms", value)
    }
    public static func rate(_ value: Double) -> String { String(format: "%.1f req/s", value) }
    public static func percent(_ value: Double) -> String {
        let percent = value * 100
        return percent != 0 && abs(percent) < 0.1 ? String(format: "%.3f %%", percent) : String(format: "%.2f %%", percent)
    }
    public static func seconds(_ value: Double) -> String { value >= 100 ? String(format: "%.0f s", value) : String(format: "%.1f s", value) }
    public static func outcomes(_ outcomes: [String: UInt64]) -> String {
        RequestOutcome.allCases.compactMap { outcome in
            guard let count = outcomes[outcome.rawValue], count > 0 else { return nil }
            return "\(outcome.rawValue) \(count)"
        }.joined(separator: ", ")
    }
}
