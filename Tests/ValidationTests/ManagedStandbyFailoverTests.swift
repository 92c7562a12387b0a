import AresTestSupport
import Foundation
import Testing
@testable import Validation

/// `ares validate --manage` (the embedded deployment, no --replicas) runs its failover phase:
/// `ares serve --standby` beside the server on the same data directory and port, the server
/// SIGKILLed while it holds unfinished tasks, the standby taking over; the report says what was
/// failed over and holds the takeover, failed-traffic and consistency measurements.
@Suite(.serialized) struct ManagedStandbyFailoverTests {
    @Test func embeddedFailoverPhaseHasAStandbyTakeOverAndReportsItsMeasurements() async throws {
        let workingDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("validate-standby-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workingDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workingDirectory) }
        let plan = workingDirectory.appendingPathComponent("plan.json")
        // Submissions heavy, so the server holds unfinished tasks when it is killed.
        try Data("""
            {"name": "standby-tiny", "phases": [
              {"name": "failover", "kind": "failover", "rate": 20, "durationSeconds": 8,
               "mix": {"SendMessage": 30, "GetTask": 40, "AgentCard": 20, "ListTasks": 10}}]}
            """.utf8).write(to: plan)
        let out = workingDirectory.appendingPathComponent("package")
        // No probes and no load phase: Security, Integration and Performance have no evidence, so
        // the decision is NO-GO (exit 2) by construction; this test is about the phase.
        let outcome = try await AresProcess.run(["validate", "--manage", "--plan", plan.path, "--out", out.path, "--skip-probes",
                                           "--chaos-seed", "5", "--task-loss-deadline", "60"], in: workingDirectory)
        #expect(outcome.status == 2, "exit \(outcome.status): \(outcome.stderr.suffix(4000))")
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let report = try decoder.decode(ValidationReport.self, from: Data(contentsOf: out.appendingPathComponent("report.json")))

        let phase = try #require(report.phases.first { $0.kind == .failover })
        #expect(phase.status == .ran, "\(phase.reason ?? "")")
        let part = try #require(phase.actions?.first, "\(outcome.stderr.suffix(3000))")
        #expect(part.name == "standby-takeover")
        #expect(part.status == .ran, "not run: \(part.reason ?? "")")
        #expect(part.facts["failed over"] == "embedded: a standby process on the same data directory took over", "\(part.facts)")
        #expect(part.description.hasPrefix("embedded: a standby process"))

        let held = try #require(Int(part.facts["tasks held at the kill"] ?? ""), "\(part.facts)")
        #expect(held >= 1, "the server held no unfinished task at the kill: the phase waits for one")
        // Each verdict follows from its measurement: the takeover time against the 30 s limit.
        let takeover = try #require(part.checks.first { $0.name.hasPrefix("failover: every held task running again") })
        #expect(takeover.threshold == "< 30.0 s")
        let seconds = try #require(Double(part.facts["failover seconds (takeover)"] ?? ""), "never taken over: \(part.facts)")
        #expect(seconds > 0)
        #expect(takeover.passed == (seconds < 30), "\(takeover)")
        // On this deployment every check holds: the standby ready, every held task running again,
        // failed traffic stopped, every task acknowledged meanwhile completed, no step twice,
        // `ares verify` clean, a new standby waiting.
        for check in part.checks {
            #expect(check.passed, "\(check) — facts: \(part.facts)")
        }
        #expect(part.checks.contains { $0.name == "a new standby waiting after the takeover" })
        #expect(report.gates.first { $0.gate == "Testing" }?.passed == true, "\(report.gates)")
        let standbyLog = try String(contentsOf: out.appendingPathComponent("deployment.standby.log"), encoding: .utf8)
        #expect(standbyLog.contains("standby: the data directory is free; taking over"), "\(standbyLog.suffix(2000))")
        let markdown = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.contains("failover/standby-takeover"), "\(markdown.prefix(2000))")
    }
}
