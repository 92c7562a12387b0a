import Foundation
import Testing
@testable import Validation

/// The run-wide "acknowledged tasks lost" check and the backup-restore part: the tasks the
/// restore part lost within its RPO (it destroys the deployment on purpose) are left out of the
/// run-wide count by id and listed in the gate, the report and report.json; every other loss
/// (further back than the RPO, elsewhere in the run, unfinished, unreadable) still fails.
@Suite struct RestoreLossAccountingTests {
    static let kill = Date(timeIntervalSince1970: 1_000)

    /// Tasks the killed process acknowledged: one 400 s before the kill (beyond the 300 s RPO),
    /// one 2 s before, one whose answer arrived just after the kill, one the restore kept.
    static let acknowledgedByTheKilledProcess = [
        TaskLedger.Entry(id: "task-old", owner: 0, terminal: true, acknowledgedAt: kill.addingTimeInterval(-400)),
        TaskLedger.Entry(id: "task-kept", owner: 0, terminal: true, acknowledgedAt: kill.addingTimeInterval(-10)),
        TaskLedger.Entry(id: "task-recent", owner: 1, terminal: false, acknowledgedAt: kill.addingTimeInterval(-2)),
        TaskLedger.Entry(id: "task-in-flight", owner: 0, terminal: false, acknowledgedAt: kill.addingTimeInterval(0.01)),
    ]

    static func restorePhase(_ notRestored: TasksNotRestored?, partStatus: PhaseResult.Status = .ran) -> PhaseResult {
        var phase = PhaseResult(name: "backup-restore", kind: .restore, status: .ran, reason: nil, startSeconds: 0, endSeconds: 10,
                                scaledDurationSeconds: nil, thresholds: .defaults, mustPass: false)
        phase.actions = [DeploymentActionResult(name: "backup-restore", description: "", status: partStatus,
                                                checks: [.init(name: "RPO (acknowledged work not restored)", measured: "2.00 s", threshold: "≤ 300 s", passed: true)],
                                                tasksNotRestored: notRestored)]
        return phase
    }

    /// A load level that held, so availability has evidence and only the task accounting decides.
    static let loadPhase = PhaseResult(name: "load-10", kind: .load, status: .ran, reason: nil, startSeconds: 0, endSeconds: 10,
                                       scaledDurationSeconds: 10, thresholds: .defaults, mustPass: true,
                                       measurement: DeploymentChecksTests.measurement(ok: 100), steps: nil, highestPassingRate: nil,
                                       breakingRate: nil, recovery: nil)

    /// The run-wide check's raw result: `missing` answered "not found", plus some unfinished.
    static func runWide(acknowledged: Int, missing: [String], unfinished: Int = 0) -> TaskLossCheck.Result {
        var result = TaskLossCheck.Result(acknowledged: acknowledged, ended: acknowledged - missing.count - unfinished, missing: missing.count,
                                          unfinished: unfinished, unreadable: 0, chainsChecked: 1, chainsIntact: 1, chainsBroken: 0,
                                          chainsUncheckable: false, lostExamples: missing)
        result.missingIDs = Set(missing)
        return result
    }

    static func lostMeasurement(_ gate: GateVerdict) throws -> GateVerdict.Measurement {
        try #require(gate.measurements.first { $0.name.hasPrefix("acknowledged tasks lost") })
    }

    static func leftOutMeasurement(_ gate: GateVerdict) throws -> GateVerdict.Measurement {
        try #require(gate.measurements.first { $0.name.hasPrefix("acknowledged tasks not restored within the restore's RPO") })
    }

    @Test func theRestoreReportsExactlyTheTasksItLostWithinTheRPO() {
        let recovery = DeploymentChecks.recovery(killedAt: Self.kill, readyAt: Self.kill.addingTimeInterval(3), beforeKill: Self.acknowledgedByTheKilledProcess,
                                                 missing: ["task-recent", "task-old", "task-in-flight", "task-never-acknowledged"])
        #expect(recovery.lostTasks == 3)
        #expect(recovery.notRestored.map(\.id) == ["task-old", "task-recent", "task-in-flight"])
        #expect(recovery.notRestored.last?.secondsBeforeKill == 0)
        #expect(recovery.rpoSeconds == 400)
        // Within the 300 s objective: the two recent ones, oldest acknowledgement first.
        #expect(recovery.notRestored(within: 300) == TasksNotRestored(taskIDs: ["task-recent", "task-in-flight"], rpoSeconds: 300))
        #expect(recovery.notRestored(within: 1).taskIDs == ["task-in-flight"])
    }

    @Test func lossesWithinTheRPOAreLeftOutAndListedAndTheGateHolds() throws {
        let evaluator = GateEvaluator(plan: ValidationPlan(name: "t", phases: [PlanPhase(name: "backup-restore", kind: .restore)]))
        let phases = [Self.loadPhase, Self.restorePhase(TasksNotRestored(taskIDs: ["task-recent", "task-in-flight"], rpoSeconds: 300))]
        let loss = Self.runWide(acknowledged: 120, missing: ["task-in-flight", "task-recent"]).leavingOutTasksNotRestored(by: phases)
        #expect(loss.missing == 2)
        #expect(loss.notRestoredWithinRPO == ["task-recent", "task-in-flight"])
        #expect(loss.lost == 0)
        #expect(loss.lostExamples.isEmpty)

        let reliability = evaluator.reliability(phases, loss)
        #expect(reliability.passed, "\(reliability.failures)")
        let lost = try Self.lostMeasurement(reliability)
        #expect(lost.measured == "0 of 120 (missing 2, of them 2 left out below, unfinished 0, unreadable 0)")
        let leftOut = try Self.leftOutMeasurement(reliability)
        #expect(leftOut.measured == "2: task-recent, task-in-flight")
        #expect(leftOut.threshold.contains("300"))

        // report.json keeps the ids, and the count read back is the same.
        let encoder = JSONEncoder()
        let back = try JSONDecoder().decode(TaskLossCheck.Result.self, from: encoder.encode(loss))
        #expect(back.notRestoredWithinRPO == ["task-recent", "task-in-flight"])
        #expect(back.lost == 0)
        // report.md names them.
        var report = ReportPackageTests.sampleReport()
        report.taskLoss = loss
        let markdown = MarkdownReport.render(report)
        #expect(markdown.contains("Of the missing, 2 not restored by the backup-restore part within its RPO"))
        #expect(markdown.contains("task-recent, task-in-flight"))
        #expect(HTMLReport.render(report).contains("task-recent, task-in-flight"))
    }

    @Test func anyOtherLossStillFailsTheGate() throws {
        let evaluator = GateEvaluator(plan: ValidationPlan(name: "t", phases: [PlanPhase(name: "backup-restore", kind: .restore)]))
        // The restore lost task-old 400 s before the kill (beyond its RPO: not in its list) and
        // task-recent within it; a chaos part lost task-chaos. Only task-recent is left out.
        let phases = [Self.loadPhase, Self.restorePhase(TasksNotRestored(taskIDs: ["task-recent"], rpoSeconds: 300))]
        let loss = Self.runWide(acknowledged: 120, missing: ["task-old", "task-recent", "task-chaos"]).leavingOutTasksNotRestored(by: phases)
        #expect(loss.notRestoredWithinRPO == ["task-recent"])
        #expect(loss.lost == 2)
        #expect(loss.lostExamples == ["task-old", "task-chaos"])
        let reliability = evaluator.reliability(phases, loss)
        #expect(!reliability.passed)
        let lost = try Self.lostMeasurement(reliability)
        #expect(!lost.passed)
        #expect(lost.measured.hasPrefix("2 of 120"))
        #expect(try Self.leftOutMeasurement(reliability).measured == "1: task-recent")

        // A task the restore listed that the final check found unfinished (not "not found") is
        // not excused: only a task the restored deployment does not know is the restore's loss.
        let unfinished = Self.runWide(acknowledged: 120, missing: [], unfinished: 1).leavingOutTasksNotRestored(by: phases)
        #expect(unfinished.notRestoredWithinRPO.isEmpty)
        #expect(unfinished.lost == 1)
        #expect(!evaluator.reliability(phases, unfinished).passed)

        // A restore part that did not run excuses nothing, and without a restore part no loss
        // is left out.
        let notRun = Self.runWide(acknowledged: 120, missing: ["task-recent"])
            .leavingOutTasksNotRestored(by: [Self.restorePhase(TasksNotRestored(taskIDs: ["task-recent"], rpoSeconds: 300), partStatus: .notRun)])
        #expect(notRun.lost == 1)
        let noRestore = Self.runWide(acknowledged: 120, missing: ["task-recent"]).leavingOutTasksNotRestored(by: [])
        #expect(noRestore.lost == 1)
        let gate = evaluator.reliability([Self.loadPhase], noRestore)
        #expect(!gate.passed)
        #expect(!gate.measurements.contains { $0.name.hasPrefix("acknowledged tasks not restored") })
    }

    /// A whole run against a fake target that loses t-3: a restore phase that reports t-3 as
    /// not restored within its RPO makes the run-wide count 0 and lists t-3; one that reports
    /// another id excuses nothing.
    private func runLosingT3(restoreReports ids: [String]) async throws -> ValidationReport {
        let server = try await FakeA2AServer(.init(lostTasks: ["t-3"]))
        let target = ValidationTarget(baseURL: server.baseURL, credential: .apiKey("test-\(UUID().uuidString)"))
        let plan = ValidationPlan(name: "test", mix: RequestMix(weights: [.sendMessage: 1, .agentCard: 1]),
                                  thresholds: PhaseThresholds(minimumSustainedRate: 20),
                                  phases: [PlanPhase(name: "load", kind: .load, rate: 40, durationSeconds: 1, mustPass: true),
                                           PlanPhase(name: "backup-restore", kind: .restore)])
        let restore: ValidationRun.PhaseAction = { _ in
            [DeploymentActionResult(name: "backup-restore", description: "fake",
                                    checks: [.init(name: "RPO (acknowledged work not restored)", measured: "0.2 s", threshold: "≤ 300 s", passed: true)],
                                    tasksNotRestored: TasksNotRestored(taskIDs: ids, rpoSeconds: 300))]
        }
        let report = await ValidationRun(plan: plan, scale: 1, target: target, loadAuthorizations: ["Bearer a"],
                                         environment: RunEnvironment(validatorVersion: "test", validatorCommit: nil, target: server.baseURL.absoluteString),
                                         probes: GateTests.passingProbes, phaseActions: [.restore: restore], taskLossDeadline: .seconds(5)).run()
        await server.stop()
        return report
    }

    @Test func aRunLeavesOutExactlyTheIdsItsRestorePartReported() async throws {
        let excused = try await runLosingT3(restoreReports: ["t-3"])
        let loss = try #require(excused.taskLoss)
        #expect(loss.missing == 1)
        #expect(loss.notRestoredWithinRPO == ["t-3"])
        #expect(loss.lost == 0)
        let reliability = try #require(excused.gates.first { $0.gate == "Reliability" })
        #expect(reliability.passed, "\(reliability.failures)")
        #expect(try Self.leftOutMeasurement(reliability).measured == "1: t-3")

        let other = try await runLosingT3(restoreReports: ["t-4-not-lost"])
        #expect(other.taskLoss?.lost == 1)
        #expect(other.taskLoss?.notRestoredWithinRPO == [])
        #expect(other.taskLoss?.lostExamples == ["t-3"])
        #expect(other.gates.first { $0.gate == "Reliability" }?.passed == false)
    }

    @Test func aDecodedReportWithImpossibleCountsDoesNotTrap() throws {
        let json = #"{"acknowledged":1,"ended":0,"missing":\#(Int.min),"unfinished":\#(Int.max),"unreadable":\#(Int.max),"chainsChecked":0,"chainsIntact":0,"chainsBroken":0,"chainsUncheckable":false,"lostExamples":[],"notRestoredWithinRPO":["a","b"]}"#
        let result = try JSONDecoder().decode(TaskLossCheck.Result.self, from: Data(json.utf8))
        #expect(result.lost == Int.max)
    }
}
