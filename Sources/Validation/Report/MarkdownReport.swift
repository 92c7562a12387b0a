import Foundation

/// report.md: the decision, each gate with its measurements, the phases, the request mix,
/// the tasks, the probes and the server's resources, as tables.
public enum MarkdownReport {
    public static func render(_ report: ValidationReport) -> String {
        var text = "# ares validate: \(report.decision.rawValue)\n\n"
        text += summary(report) + "\n\n"
        text += "## Gates\n\n" + table(["gate", "verdict", "failed measurements"], report.gates.map { gate in
            [gate.gate, gate.passed ? "pass" : "**FAIL**", gate.failures.map { "\($0.name): \($0.measured) (needs \($0.threshold))" }.joined(separator: "; ")]
        })
        for gate in report.gates {
            text += "\n### \(gate.gate): \(gate.passed ? "pass" : "FAIL")\n\n"
            text += table(["measurement", "measured", "threshold", "held"], gate.measurements.map { [$0.name, $0.measured, $0.threshold, $0.passed ? "yes" : "**no**"] })
        }
        text += "\n## Phases\n\nLatency is measured from each request's due time (open loop, no coordinated omission) and covers successful requests; errors count every request that was due, including unsent ones.\n\n"
        text += table(ReportTables.phaseHeader, ReportTables.phaseRows(report))
        let acted = report.phases.filter { $0.actions?.isEmpty == false }
        if !acted.isEmpty {
            text += "\n## What was done to the deployment\n\n"
            for phase in acted {
                for part in phase.actions ?? [] {
                    text += "### \(phase.name)/\(part.name): " + (part.status == .ran ? (part.passed ? "held" : "FAILED") : (part.reason ?? "not run")) + "\n\n\(part.description)\n\n"
                    if !part.checks.isEmpty {
                        text += table(["measurement", "measured", "threshold", "held"], part.checks.map { [$0.name, $0.measured, $0.threshold, $0.passed ? "yes" : "**no**"] })
                    }
                    if !part.facts.isEmpty {
                        text += "\n" + table(["fact", "value"], part.facts.keys.sorted().map { [$0, part.facts[$0] ?? ""] })
                    }
                    text += "\n"
                }
            }
        }
        text += "\n## Requests by kind\n\n" + table(ReportTables.kindHeader, ReportTables.kindRows(report))
        if let loss = report.taskLoss {
            text += "\n## Acknowledged tasks\n\n"
            text += "\(loss.acknowledged) acknowledged, \(loss.ended) found ended, \(loss.missing) missing, \(loss.unfinished) unfinished at the deadline, \(loss.unreadable) unreadable."
            text += loss.chainsUncheckable ? " Hash chains: not checkable on this target.\n" : " Hash chains verified: \(loss.chainsIntact) intact, \(loss.chainsBroken) broken of \(loss.chainsChecked) sampled.\n"
            if !loss.notRestoredWithinRPO.isEmpty {
                text += "\nOf the missing, \(loss.notRestoredWithinRPO.count) not restored by the backup-restore part within its RPO (acknowledged by the killed process just before the kill; gated by that part's RPO check, left out of the tasks lost): "
                    + loss.notRestoredWithinRPO.joined(separator: ", ") + "\n"
            }
            if !loss.lostExamples.isEmpty { text += "\nLost (first \(loss.lostExamples.count)): " + loss.lostExamples.joined(separator: ", ") + "\n" }
        }
        for probe in report.probes {
            text += "\n## Probe: \(probe.probe)\n\n\(probe.checks.count) checks, \(probe.failures.count) failed.\n\n"
            if !probe.checks.isEmpty {
                text += table(["check", "outcome", "detail"], probe.checks.map { [$0.id + ": " + $0.title, $0.outcome.rawValue, $0.detail] })
            }
        }
        text += "\n## Server resources (from /metrics, \(report.serverMetrics.count) samples, \(report.failedMetricScrapes) failed scrapes)\n\n"
        text += table(["series", "min", "mean", "max"], ReportTables.serverSummary(report.serverMetrics))
        let histograms = ReportTables.histograms(report)
        if !histograms.isEmpty {
            text += "\n## Raw histograms\n\nHdrHistogram percentile distributions (milliseconds) of each phase's successful requests: "
            text += histograms.map { "[\($0.file)](histograms/\($0.file))" }.joined(separator: ", ") + ".\n"
        }
        if !report.notes.isEmpty { text += "\n## Notes\n\n" + report.notes.map { "- \($0)\n" }.joined() }
        return text
    }

    static func summary(_ report: ValidationReport) -> String {
        let environment = report.environment
        let target = [environment.targetName, environment.targetVersion].compactMap { $0 }.joined(separator: " ")
        let memory = String(format: "%.1f GiB", Double(environment.memoryBytes) / 1_073_741_824)
        var lines = [
            "Plan **\(report.plan.name)** at scale **\(report.scale)** (every duration × \(report.scale), at least \(Int(ValidationRun.minimumScaledSeconds)) s) against \(environment.target)\(target.isEmpty ? "" : " (\(target))").",
            "Run \(ISO8601DateFormatter().string(from: report.startedAt)) – \(ISO8601DateFormatter().string(from: report.finishedAt)) (\(Format.seconds(report.finishedAt.timeIntervalSince(report.startedAt)))).",
            "Validator: ares \(environment.validatorVersion)\(environment.validatorCommit.map { " (\($0.prefix(12)))" } ?? "") on \(environment.cores) cores, \(memory), \(environment.operatingSystem).",
        ]
        if let managed = environment.managed { lines.append("Deployment: \(managed).") }
        if report.decision == .noGo {
            lines.append("Failed: " + report.failedGates.map { gate in "\(gate.gate) (" + gate.failures.map { "\($0.name): \($0.measured), needs \($0.threshold)" }.joined(separator: "; ") + ")" }.joined(separator: "; ") + ".")
        }
        return lines.joined(separator: "\n")
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
        var text = "| " + header.map(cell).joined(separator: " | ") + " |\n"
        text += "|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
        for row in rows { text += "| " + row.map(cell).joined(separator: " | ") + " |\n" }
        return text
    }
}
