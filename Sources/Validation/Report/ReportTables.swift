import Foundation

/// The rows the Markdown and HTML reports share, so both always show the same numbers.
enum ReportTables {
    static let phaseHeader = ["phase", "kind", "status", "asked", "achieved (ok)", "p50", "p95", "p99", "max", "errors", "unsent", "verdict"]

    /// One row per load or soak phase and per stress step; other phases say whether they ran.
    static func phaseRows(_ report: ValidationReport) -> [[String]] {
        var rows: [[String]] = []
        for phase in report.phases {
            if let measurement = phase.measurement {
                let failures = PhaseCheck.failures(of: measurement, against: phase.thresholds)
                rows.append(row(phase.name, phase.kind.rawValue, measurement, failures))
            } else if let steps = phase.steps {
                for step in steps {
                    rows.append(row("\(phase.name) @ \(Int(step.rate))", "stress step", step.measurement, step.failures))
                }
                if let recovery = phase.recovery {
                    rows.append(["\(phase.name) recovery", "stress", "ran", Format.rate(recovery.rate), "", "", "", "", "", "", "",
                                 recovery.seconds.map { "recovered in \(Format.seconds($0))" } ?? "not recovered in \(Format.seconds(recovery.observedSeconds))"])
                }
            } else if let parts = phase.actions, phase.status == .ran {
                // One row per part of a phase that acted on the deployment: the load meanwhile
                // and the part's own checks as the verdict.
                for part in parts {
                    let failed = part.checks.filter { !$0.passed }.map { "\($0.name): \($0.measured) (needs \($0.threshold))" }
                    let verdict = part.status != .ran ? (part.reason ?? "not run") : failed.isEmpty ? "held" : failed.joined(separator: "; ")
                    if let measurement = part.measurement {
                        var cells = row("\(phase.name)/\(part.name)", phase.kind.rawValue, measurement, [])
                        cells[cells.count - 1] = verdict
                        rows.append(cells)
                    } else {
                        rows.append(["\(phase.name)/\(part.name)", phase.kind.rawValue, part.status == .ran ? "ran" : "not run", "", "", "", "", "", "", "", "", verdict])
                    }
                }
            } else {
                rows.append([phase.name, phase.kind.rawValue, phase.status == .ran ? "ran" : (phase.reason ?? "not run"), "", "", "", "", "", "", "", "", ""])
            }
        }
        return rows
    }

    private static func row(_ name: String, _ kind: String, _ m: LoadMeasurement, _ failures: [String]) -> [String] {
        [name, kind, "ran", Format.rate(m.askedRate), Format.rate(m.achievedRate), Format.milliseconds(m.latency.p50),
         Format.milliseconds(m.latency.p95), Format.milliseconds(m.latency.p99), Format.milliseconds(m.latency.max),
         "\(Format.percent(m.errorRate)) (\(m.failed))", "\(m.count(.unsent))", failures.isEmpty ? "held" : failures.joined(separator: "; ")]
    }

    static let kindHeader = ["request", "count", "ok", "p50", "p95", "p99", "failures"]

    /// Per request kind, over every load, soak and stress measurement of the run.
    static func kindRows(_ report: ValidationReport) -> [[String]] {
        var outcomes: [String: [String: UInt64]] = [:]
        var latencies: [String: [LatencySummary]] = [:]
        for measurement in measurements(report) {
            for (kind, counts) in measurement.outcomesByKind {
                for (outcome, count) in counts { outcomes[kind, default: [:]][outcome, default: 0] += count }
            }
            for (kind, latency) in measurement.latencyByKind { latencies[kind, default: []].append(latency) }
        }
        return outcomes.keys.sorted().map { kind in
            let counts = outcomes[kind] ?? [:]
            let total = counts.values.reduce(0, +), ok = counts[RequestOutcome.ok.rawValue] ?? 0
            // Percentiles of the busiest measurement of the kind (percentiles do not add up).
            let busiest = latencies[kind]?.max { $0.count < $1.count } ?? .empty
            var failures = counts
            failures[RequestOutcome.ok.rawValue] = nil
            return [kind, "\(total)", "\(ok)", Format.milliseconds(busiest.p50), Format.milliseconds(busiest.p95), Format.milliseconds(busiest.p99),
                    Format.outcomes(failures)]
        }
    }

    static func measurements(_ report: ValidationReport) -> [LoadMeasurement] {
        report.phases.flatMap { phase -> [LoadMeasurement] in
            if let measurement = phase.measurement { return [measurement] }
            return phase.steps?.map(\.measurement) ?? []
        }
    }

    /// Min, mean and max of the server's resident memory (MB), CPU use (% of one core between
    /// scrapes) and queue depth.
    static func serverSummary(_ samples: [ServerMetricsSample]) -> [[String]] {
        func stats(_ values: [Double]) -> (String, String, String) {
            guard let min = values.min(), let max = values.max() else { return ("–", "–", "–") }
            return (String(format: "%.1f", min), String(format: "%.1f", values.reduce(0, +) / Double(values.count)), String(format: "%.1f", max))
        }
        let rss = stats(samples.compactMap(\.residentBytes).map { $0 / 1_048_576 })
        let cpu = stats(cpuPercent(samples).map(\.y))
        let queue = stats(samples.compactMap(\.queueDepth))
        return [["resident memory (MB)", rss.0, rss.1, rss.2], ["CPU (% of one core)", cpu.0, cpu.1, cpu.2], ["task queue depth", queue.0, queue.1, queue.2]]
    }

    /// CPU use between consecutive samples, in % of one core.
    static func cpuPercent(_ samples: [ServerMetricsSample]) -> [(x: Double, y: Double)] {
        var points: [(x: Double, y: Double)] = []
        var previous: ServerMetricsSample?
        for sample in samples {
            defer { if sample.cpuSeconds != nil { previous = sample } }
            guard let cpu = sample.cpuSeconds, let before = previous, let cpuBefore = before.cpuSeconds, sample.seconds > before.seconds else { continue }
            points.append((sample.seconds, max(0, cpu - cpuBefore) / (sample.seconds - before.seconds) * 100))
        }
        return points
    }

    /// A file name for a phase's raw histogram.
    static func histogramFile(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" }) + ".hgrm"
    }

    static func histograms(_ report: ValidationReport) -> [(file: String, measurement: LoadMeasurement)] {
        report.phases.flatMap { phase -> [(file: String, measurement: LoadMeasurement)] in
            if let measurement = phase.measurement { return [(histogramFile(phase.name), measurement)] }
            return (phase.steps ?? []).map { (histogramFile("\(phase.name)-\(Int($0.rate))"), $0.measurement) }
        }
    }
}
