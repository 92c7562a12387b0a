import Foundation
import Testing
@testable import Validation

@Suite struct ReportPackageTests {
    static func sampleReport() -> ValidationReport {
        var measurement = LoadMeasurement(askedRate: 100, durationSeconds: 10, scheduled: 1000, outcomes: ["ok": 990, "serverError": 10],
                                          latency: LatencySummary(count: 990, p50: 5, p90: 9, p95: 12, p99: 30, p999: 80, max: 95, mean: 6),
                                          latencyByKind: ["GetTask": .empty], outcomesByKind: ["GetTask": ["ok": 990, "serverError": 10]],
                                          sendLag: .empty, elapsedSeconds: 10, windows: [], percentileDistribution: "       Value     Percentile TotalCount 1/(1-Percentile)\n")
        measurement.windows = (0..<10).map { LoadMeasurement.Window(startSeconds: Double($0), seconds: 1, outcomes: ["ok": 99, "serverError": 1],
                                                                      latency: LatencySummary(count: 99, p50: 5, p90: 9, p95: 12, p99: 30, p999: 80, max: 95, mean: 6)) }
        let phase = PhaseResult(name: "load-100", kind: .load, status: .ran, reason: nil, startSeconds: 0, endSeconds: 10, scaledDurationSeconds: 10,
                                thresholds: .defaults, mustPass: true, measurement: measurement, steps: nil, highestPassingRate: nil, breakingRate: nil, recovery: nil)
        let chaos = PhaseResult(name: "chaos", kind: .chaos, status: .notRun, reason: "not run: needs --manage", startSeconds: 10, endSeconds: 10,
                                scaledDurationSeconds: nil, thresholds: .defaults, mustPass: false)
        let plan = ValidationPlan(name: "test <&>", phases: [PlanPhase(name: "load-100", kind: .load, rate: 100, durationSeconds: 10), PlanPhase(name: "chaos", kind: .chaos)])
        let gates = GateEvaluator(plan: plan).evaluate(phases: [phase, chaos], probes: [], taskLoss: nil)
        return ValidationReport(startedAt: Date(timeIntervalSince1970: 1_800_000_000), finishedAt: Date(timeIntervalSince1970: 1_800_000_060),
                                decision: .noGo, plan: plan, scale: 0.5,
                                environment: RunEnvironment(validatorVersion: "0.4.0", validatorCommit: "abc", target: "http://127.0.0.1:1"),
                                gates: gates, phases: [phase, chaos], probes: [], taskLoss: nil,
                                serverMetrics: [ServerMetricsSample(seconds: 1, residentBytes: 50_000_000, cpuSeconds: 1, queueDepth: 0),
                                                ServerMetricsSample(seconds: 2, residentBytes: 52_000_000, cpuSeconds: 1.5, queueDepth: 3)],
                                failedMetricScrapes: 0, notes: [])
    }

    @Test func thePackageHoldsEveryFileAndTheJSONReadsBack() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("validate-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let report = Self.sampleReport()
        try ReportPackage.write(report, to: directory)
        let json = try Data(contentsOf: directory.appendingPathComponent("report.json"))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let back = try decoder.decode(ValidationReport.self, from: json)
        #expect(back.decision == .noGo)
        #expect(back.scale == 0.5)
        #expect(back.gates.map(\.gate) == ["Performance", "Security", "Reliability", "Integration", "Testing"])
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let gates = try #require(object["gates"] as? [[String: Any]])
        #expect(gates.allSatisfy { $0["passed"] is Bool })

        let markdown = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.hasPrefix("# ares validate: NO-GO"))
        #expect(markdown.contains("at scale **0.5**"))
        #expect(markdown.contains("| load-100 | load | ran | 100.0 req/s |"))
        #expect(markdown.contains("not run: needs --manage"))

        let html = try String(contentsOf: directory.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("<svg"))
        #expect(html.contains("<polyline"))
        #expect(html.contains("test &lt;&amp;&gt;"), "the plan name is escaped")
        #expect(!html.contains("test <&>"))
        #expect(!html.contains("<script"))

        let histogram = try String(contentsOf: directory.appendingPathComponent("histograms/load-100.hgrm"), encoding: .utf8)
        #expect(histogram.contains("Percentile"))
    }

    @Test func theRealHistogramTextIsHdrHistogramsPercentileDistribution() async throws {
        let recorder = LoadRecorder(windowSeconds: 1)
        for millisecond in 1...100 {
            recorder.record(kind: "x", outcome: .ok, dueOffset: .zero, latency: .milliseconds(millisecond))
        }
        let measurement = recorder.measurement(askedRate: 100, durationSeconds: 1, scheduled: 100, elapsedSeconds: 1)
        #expect(measurement.percentileDistribution.contains("#[Mean"))
        #expect(abs(measurement.latency.p50 - 50) < 0.1)
        #expect(abs(measurement.latency.max - 100) < 0.1)
    }
}
