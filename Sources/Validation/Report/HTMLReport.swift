import Foundation

/// report.html: one self-contained page (inline CSS and SVG, no script): the decision, the
/// gates, latency percentiles over time per level, achieved against asked throughput, errors,
/// and the server's memory, CPU and queue depth over the run.
public enum HTMLReport {
    public static func render(_ report: ValidationReport) -> String {
        let esc = SVGChart.escape
        var html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>ares validate: \(report.decision.rawValue)</title>
            <style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
            table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
            .go{color:#176f2c}.nogo{color:#b00020}.fail{color:#b00020;font-weight:bold}svg{display:block;margin:1em 0}</style></head><body>
            <h1>ares validate: <span class="\(report.decision == .go ? "go" : "nogo")">\(report.decision.rawValue)</span></h1>
            """
        html += "<p>" + esc(MarkdownReport.summary(report)).replacingOccurrences(of: "\n", with: "<br>").replacingOccurrences(of: "**", with: "") + "</p>"
        html += "<h2>Gates</h2>" + table(["gate", "measurement", "measured", "threshold", "held"], report.gates.flatMap { gate in
            gate.measurements.map { [gate.gate + (gate.passed ? "" : " ✗"), $0.name, $0.measured, $0.threshold, $0.passed ? "yes" : "NO"] }
        }, failColumn: 4)
        html += "<h2>Throughput and errors</h2>"
        let levels = ReportTables.histograms(report).map(\.measurement)
        let labels = report.phases.flatMap { phase -> [String] in
            if phase.measurement != nil { return [phase.name] }
            return (phase.steps ?? []).map { "\(Int($0.rate))" }
        }
        html += SVGChart.bars(title: "Throughput: asked vs achieved (successful requests/s)", yLabel: "req/s", bars: zip(labels, levels).map { label, m in
            SVGChart.Bar(label: label, values: [("asked", "#9db4d6", m.askedRate), ("achieved", "#2a6fdb", m.achievedRate)])
        })
        html += SVGChart.bars(title: "Errors (% of requests due, all failure classes incl. unsent)", yLabel: "%", bars: zip(labels, levels).map { label, m in
            SVGChart.Bar(label: label, values: [("errors", "#d64545", m.errorRate * 100)])
        })
        html += "<h2>Latency over time (from due time, successful requests)</h2>"
        for phase in report.phases {
            if let measurement = phase.measurement {
                html += latencyChart("\(phase.name) at \(Format.rate(measurement.askedRate))", measurement.windows)
            } else if let steps = phase.steps, !steps.isEmpty {
                var offset = 0.0
                var windows: [LoadMeasurement.Window] = []
                for step in steps {
                    windows += step.measurement.windows.map { var window = $0; window.startSeconds += offset; return window }
                    offset += step.measurement.durationSeconds
                }
                html += latencyChart("\(phase.name): steps " + steps.map { "\(Int($0.rate))" }.joined(separator: " → ") + " req/s", windows)
            }
        }
        html += "<h2>Server (from /metrics)</h2>"
        let samples = report.serverMetrics
        html += SVGChart.line(title: "Resident memory", xLabel: "seconds into the run", yLabel: "MB", series: [
            .init(name: "RSS", color: "#2a6fdb", points: samples.compactMap { sample in sample.residentBytes.map { (sample.seconds, $0 / 1_048_576) } }),
        ])
        html += SVGChart.line(title: "CPU", xLabel: "seconds into the run", yLabel: "% of one core", series: [
            .init(name: "CPU", color: "#d68a2a", points: ReportTables.cpuPercent(samples)),
        ])
        html += SVGChart.line(title: "Task queue", xLabel: "seconds into the run", yLabel: "tasks", series: [
            .init(name: "queued", color: "#8a4bd6", points: samples.compactMap { sample in sample.queueDepth.map { (sample.seconds, $0) } }),
            .init(name: "running", color: "#2aa87a", points: samples.compactMap { sample in sample.runningTasks.map { (sample.seconds, $0) } }),
        ])
        html += "<p>Phases on the run's time line: " + esc(report.phases.map { "\($0.name) \(Int($0.startSeconds))–\(Int($0.endSeconds)) s" }.joined(separator: ", ")) + ".</p>"
        html += "<h2>Phases</h2>" + table(ReportTables.phaseHeader, ReportTables.phaseRows(report), failColumn: nil)
        html += "<h2>Requests by kind</h2>" + table(ReportTables.kindHeader, ReportTables.kindRows(report), failColumn: nil)
        if let loss = report.taskLoss {
            html += "<h2>Acknowledged tasks</h2><p>" + esc("\(loss.acknowledged) acknowledged, \(loss.ended) found ended, \(loss.missing) missing, \(loss.unfinished) unfinished, \(loss.unreadable) unreadable; chains \(loss.chainsUncheckable ? "not checkable" : "\(loss.chainsIntact) intact, \(loss.chainsBroken) broken of \(loss.chainsChecked) sampled").") + "</p>"
            if !loss.notRestoredWithinRPO.isEmpty {
                html += "<p>" + esc("Of the missing, \(loss.notRestoredWithinRPO.count) not restored by the backup-restore part within its RPO (gated by that part's RPO check, left out of the tasks lost): " + loss.notRestoredWithinRPO.joined(separator: ", ")) + "</p>"
            }
            if !loss.lostExamples.isEmpty {
                html += "<p>" + esc("Lost (first \(loss.lostExamples.count)): " + loss.lostExamples.joined(separator: ", ")) + "</p>"
            }
        }
        for probe in report.probes {
            html += "<h2>Probe: \(esc(probe.probe))</h2>" + table(["check", "outcome", "detail"], probe.checks.map { [$0.id + ": " + $0.title, $0.outcome.rawValue, $0.detail] }, failColumn: nil)
        }
        let histograms = ReportTables.histograms(report)
        if !histograms.isEmpty {
            html += "<h2>Raw histograms</h2><p>" + histograms.map { "<a href=\"histograms/\(esc($0.file))\">\(esc($0.file))</a>" }.joined(separator: ", ") + "</p>"
        }
        return html + "</body></html>\n"
    }

    private static func latencyChart(_ title: String, _ windows: [LoadMeasurement.Window]) -> String {
        let withData = windows.filter { $0.latency.count > 0 }
        func series(_ name: String, _ color: String, _ value: (LatencySummary) -> Double) -> SVGChart.Series {
            .init(name: name, color: color, points: withData.map { ($0.startSeconds + $0.seconds / 2, value($0.latency)) })
        }
        return SVGChart.line(title: title, xLabel: "seconds into the phase", yLabel: "ms", series: [
            series("p50", "#2aa87a", \.p50), series("p95", "#d68a2a", \.p95), series("p99", "#d64545", \.p99),
            .init(name: "failed/window", color: "#888", points: windows.filter { $0.failed > 0 }.map { ($0.startSeconds + $0.seconds / 2, Double($0.failed)) }),
        ])
    }

    private static func table(_ header: [String], _ rows: [[String]], failColumn: Int?) -> String {
        let esc = SVGChart.escape
        var html = "<table><tr>" + header.map { "<th>\(esc($0))</th>" }.joined() + "</tr>"
        for row in rows {
            let failed = failColumn.map { row.indices.contains($0) && row[$0] == "NO" } ?? false
            html += "<tr\(failed ? " class=\"fail\"" : "")>" + row.map { "<td>\(esc($0))</td>" }.joined() + "</tr>"
        }
        return html + "</table>"
    }
}
