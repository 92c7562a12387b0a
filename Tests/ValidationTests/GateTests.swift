import Foundation
import Testing
@testable import Validation

/// Each gate fails for the right reason: a run against a fake A2A server broken in one way
/// fails exactly the gate (and measurement) that the breakage concerns, and the same run
/// against the healthy fake is GO — so the failures come from measurements, not defaults.
@Suite(.serialized) struct GateTests {
    static let passingProbes: [ValidationRun.Probe] = [
        { _ in ProbeReport(probe: "security", checks: [ProbeCheck(id: "security.fake", title: "fake", outcome: .passed, detail: "")]) },
        { _ in ProbeReport(probe: "conformance", checks: [ProbeCheck(id: "a2a.fake", title: "fake", outcome: .passed, detail: "")]) },
    ]

    private func run(_ behaviour: FakeA2AServer.Behaviour, plan: ValidationPlan) async throws -> ValidationReport {
        let server = try await FakeA2AServer(behaviour)
        let target = ValidationTarget(baseURL: server.baseURL, credential: .apiKey("test-\(UUID().uuidString)"))
        let report = await ValidationRun(plan: plan, scale: 1, target: target, loadAuthorizations: ["Bearer a", "Bearer b"],
                                         environment: RunEnvironment(validatorVersion: "test", validatorCommit: nil, target: server.baseURL.absoluteString),
                                         probes: Self.passingProbes, taskLossDeadline: .seconds(5)).run()
        await server.stop()
        return report
    }

    private func plan(rate: Double = 100, seconds: Double = 2, mix: RequestMix? = nil, thresholds: PhaseThresholds? = nil,
                      extra: [PlanPhase] = []) -> ValidationPlan {
        ValidationPlan(name: "test", mix: mix, thresholds: (thresholds ?? PhaseThresholds()).merged(over: PhaseThresholds(minimumSustainedRate: 50)),
                       phases: [PlanPhase(name: "load", kind: .load, rate: rate, durationSeconds: seconds, mustPass: true)] + extra)
    }

    private func gate(_ report: ValidationReport, _ name: String) throws -> GateVerdict {
        try #require(report.gates.first { $0.gate == name })
    }

    @Test func aHealthyTargetIsGo() async throws {
        let report = try await run(.init(), plan: plan())
        #expect(report.decision == .go, "failed: \(report.failedGates.map { "\($0.gate): \($0.failures.map(\.name))" })")
        #expect(report.environment.targetVersion == "9.9.9")
        #expect((report.taskLoss?.acknowledged ?? 0) > 0)
        #expect(report.serverMetrics.contains { $0.residentBytes == 10_485_760 })
    }

    @Test func aTargetErringOnTwoPercentFailsAvailability() async throws {
        let report = try await run(.init(failEvery: 50), plan: plan())
        #expect(report.decision == .noGo)
        let reliability = try gate(report, "Reliability")
        let availability = try #require(reliability.measurements.first { $0.name.hasPrefix("availability") })
        #expect(!availability.passed)
        #expect(availability.measured.hasPrefix("98."), "measured \(availability.measured)")
        // The same errors break the performance gate's error limit at that level.
        let performance = try gate(report, "Performance")
        #expect(performance.failures.contains { $0.name == "load: errors" })
        #expect(try gate(report, "Testing").passed)
        #expect(try gate(report, "Security").passed)
    }

    @Test func aTargetTooSlowForTheRateFailsPerformance() async throws {
        // One request at a time, 4 ms each: 250 req/s at most, asked for 500.
        let report = try await run(.init(serialServiceTime: .milliseconds(4)),
                                   plan: plan(rate: 500, seconds: 1, thresholds: PhaseThresholds(p95Milliseconds: 300)))
        let performance = try gate(report, "Performance")
        #expect(!performance.passed)
        let p95 = try #require(performance.measurements.first { $0.name.hasPrefix("load: p95") })
        #expect(!p95.passed, "p95 measured \(p95.measured)")
        let throughput = try #require(performance.measurements.first { $0.name.hasPrefix("load: throughput") })
        #expect(!throughput.passed, "throughput measured \(throughput.measured)")
        // It was slow, not failing: every request was answered.
        let reliability = try gate(report, "Reliability")
        #expect(reliability.measurements.first { $0.name.hasPrefix("availability") }?.passed == true)
    }

    @Test func aTargetThatLosesAnAcknowledgedTaskFailsReliability() async throws {
        // No GetTask in the mix, so only the final check reads tasks back: t-3 is acknowledged
        // by SendMessage and then not found.
        let report = try await run(.init(lostTasks: ["t-3"]), plan: plan(mix: RequestMix(weights: [.sendMessage: 1, .agentCard: 1])))
        #expect(report.decision == .noGo)
        let loss = try #require(report.taskLoss)
        #expect(loss.missing == 1)
        #expect(loss.lostExamples == ["t-3"])
        let reliability = try gate(report, "Reliability")
        let lost = try #require(reliability.measurements.first { $0.name.hasPrefix("acknowledged tasks lost") })
        #expect(!lost.passed)
        #expect(reliability.measurements.first { $0.name.hasPrefix("availability") }?.passed == true)
        #expect(try gate(report, "Performance").passed)
    }

    @Test func aPhaseThatCannotRunFailsTesting() async throws {
        let report = try await run(.init(), plan: plan(extra: [PlanPhase(name: "failover", kind: .failover)]))
        let testing = try gate(report, "Testing")
        #expect(!testing.passed)
        let phase = try #require(testing.measurements.first { $0.name.hasPrefix("phase failover") })
        #expect(phase.measured.contains("needs --manage with PostgreSQL replicas"))
        #expect(try gate(report, "Performance").passed)
        #expect(try gate(report, "Reliability").passed)
    }

    @Test func securityAndIntegrationFailOnTheProbesFindings() {
        let evaluator = GateEvaluator(plan: plan())
        let bypass = ProbeReport(probe: "security", checks: [
            ProbeCheck(id: "security.revoked-key", title: "a revoked key is refused", outcome: .bypass, detail: "HTTP 200"),
            ProbeCheck(id: "security.missing-key", title: "no key is refused", outcome: .passed, detail: "HTTP 401"),
        ])
        let security = evaluator.security([bypass])
        #expect(!security.passed)
        #expect(security.failures.map(\.name) == ["bypasses (refused requests that got in)"])
        #expect(security.failures.first?.measured.contains("security.revoked-key") == true)
        // No evidence is no pass: an empty suite, or none at all.
        #expect(!evaluator.security([ProbeReport(probe: "security", checks: [])]).passed)
        #expect(!evaluator.security([]).passed)
        let broken = ProbeReport(probe: "conformance", checks: [
            ProbeCheck(id: "a2a.jsonrpc.unknown-method", title: "unknown method answers -32601", outcome: .violation, detail: "got -32603"),
        ])
        let integration = evaluator.integration([broken])
        #expect(!integration.passed)
        #expect(integration.failures.map(\.name) == ["MUSTs broken"])
    }
}
