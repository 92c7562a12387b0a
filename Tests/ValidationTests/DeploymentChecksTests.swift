import Foundation
import Testing
@testable import Validation

/// The checks of the phases that act on the deployment (chaos parts, backup/restore), each
/// made to fail for its own reason, and how the gates read them.
@Suite struct DeploymentChecksTests {
    static func measurement(ok: UInt64, failed: UInt64 = 0) -> LoadMeasurement {
        var outcomes: [String: UInt64] = ["ok": ok]
        if failed > 0 { outcomes["connectionError"] = failed }
        return LoadMeasurement(askedRate: 10, durationSeconds: 10, scheduled: ok + failed, outcomes: outcomes,
                               latency: LatencySummary(count: ok, p50: 5, p90: 9, p95: 12, p99: 30, p999: 80, max: 95, mean: 6),
                               latencyByKind: [:], outcomesByKind: [:], sendLag: .empty, elapsedSeconds: 10, windows: [], percentileDistribution: "")
    }

    static func tasks(acknowledged: Int, missing: Int = 0, unfinished: Int = 0, unreadable: Int = 0) -> TaskLossCheck.Result {
        TaskLossCheck.Result(acknowledged: acknowledged, ended: acknowledged - missing - unfinished - unreadable, missing: missing,
                             unfinished: unfinished, unreadable: unreadable, chainsChecked: 0, chainsIntact: 0, chainsBroken: 0,
                             chainsUncheckable: false, lostExamples: [])
    }

    static let intact = DeploymentChecks.ChainVerification(intact: true, detail: "ok: 12 streams, 300 events, every hash chain intact")

    static func failing(_ checks: [GateVerdict.Measurement]) -> [String] { checks.filter { !$0.passed }.map(\.name) }

    @Test func modelFaultsFailOnErrorsAboveTheLimitOrADeadServer() {
        let limits = PhaseThresholds(maximumErrorRate: 0.01)
        #expect(Self.failing(DeploymentChecks.underFault(Self.measurement(ok: 1000, failed: 5), thresholds: limits, serverAlive: true)).isEmpty)
        #expect(Self.failing(DeploymentChecks.underFault(Self.measurement(ok: 1000, failed: 20), thresholds: limits, serverAlive: true))
            == ["errors under the fault"])
        #expect(Self.failing(DeploymentChecks.underFault(Self.measurement(ok: 1000), thresholds: limits, serverAlive: false))
            == ["server up after the fault"])
        // No request at all is no evidence.
        #expect(Self.failing(DeploymentChecks.underFault(Self.measurement(ok: 0), thresholds: limits, serverAlive: true))
            == ["errors under the fault"])
    }

    @Test func killsFailWhenARestartNeverBecomesReadyIsTooSlowLosesATaskOrBreaksAChain() {
        let kills = [DeploymentChecks.Kill(atSeconds: 2, backAfterSeconds: 1.5), .init(atSeconds: 8, backAfterSeconds: 2.0)]
        let healthy = DeploymentChecks.killsAndRestarts(kills, recoveryLimit: 300, tasks: Self.tasks(acknowledged: 40), chains: Self.intact)
        #expect(Self.failing(healthy).isEmpty)

        let neverBack = DeploymentChecks.killsAndRestarts([.init(atSeconds: 2, backAfterSeconds: nil)], recoveryLimit: 300,
                                                          tasks: Self.tasks(acknowledged: 40), chains: Self.intact)
        #expect(Self.failing(neverBack) == ["restarted and ready after every kill (slowest)"])

        let slow = DeploymentChecks.killsAndRestarts(kills, recoveryLimit: 1.8, tasks: Self.tasks(acknowledged: 40), chains: Self.intact)
        #expect(Self.failing(slow) == ["restarted and ready after every kill (slowest)"])

        let lost = DeploymentChecks.killsAndRestarts(kills, recoveryLimit: 300, tasks: Self.tasks(acknowledged: 40, missing: 1), chains: Self.intact)
        #expect(Self.failing(lost) == ["acknowledged during the kills, lost"])

        let broken = DeploymentChecks.killsAndRestarts(kills, recoveryLimit: 300, tasks: Self.tasks(acknowledged: 40),
                                                       chains: .init(intact: false, detail: "exit 1: chain break: task-1 at 7"))
        #expect(Self.failing(broken) == ["hash chains after the kills (ares verify)"])

        #expect(Self.failing(DeploymentChecks.killsAndRestarts([], recoveryLimit: 300, tasks: Self.tasks(acknowledged: 40), chains: Self.intact))
            .contains("kills"))
    }

    @Test func aFullDiskFailsWhenTheFillWasNotReachedOrErrorsOrLossFollow() {
        let limits = PhaseThresholds(maximumErrorRate: 0.005)
        #expect(Self.failing(DeploymentChecks.nearlyFullDisk(Self.measurement(ok: 500), thresholds: limits, usedRatio: 0.81, targetRatio: 0.8,
                                                             serverAlive: true, tasks: Self.tasks(acknowledged: 20))).isEmpty)
        #expect(Self.failing(DeploymentChecks.nearlyFullDisk(Self.measurement(ok: 500), thresholds: limits, usedRatio: 0.5, targetRatio: 0.8,
                                                             serverAlive: true, tasks: Self.tasks(acknowledged: 20)))
            == ["data filesystem used while the load ran"])
        #expect(Self.failing(DeploymentChecks.nearlyFullDisk(Self.measurement(ok: 500, failed: 50), thresholds: limits, usedRatio: 0.81, targetRatio: 0.8,
                                                             serverAlive: true, tasks: Self.tasks(acknowledged: 20)))
            == ["errors under the fault"])
        #expect(Self.failing(DeploymentChecks.nearlyFullDisk(Self.measurement(ok: 500), thresholds: limits, usedRatio: 0.81, targetRatio: 0.8,
                                                             serverAlive: true, tasks: Self.tasks(acknowledged: 20, unfinished: 1)))
            == ["acknowledged on the full disk, lost"])
    }

    @Test func recoveryPointIsTheOldestLostAcknowledgementBeforeTheKill() {
        let kill = Date(timeIntervalSince1970: 1_000)
        let entries = [TaskLedger.Entry(id: "a", owner: 0, terminal: true, acknowledgedAt: kill.addingTimeInterval(-30)),
                       TaskLedger.Entry(id: "b", owner: 0, terminal: false, acknowledgedAt: kill.addingTimeInterval(-2.5)),
                       TaskLedger.Entry(id: "c", owner: 1, terminal: false, acknowledgedAt: kill.addingTimeInterval(-0.4))]
        let none = DeploymentChecks.recovery(killedAt: kill, readyAt: kill.addingTimeInterval(4), beforeKill: entries, missing: [])
        #expect(none == .init(rtoSeconds: 4, lostTasks: 0, checkedTasks: 3, rpoSeconds: 0))
        let two = DeploymentChecks.recovery(killedAt: kill, readyAt: nil, beforeKill: entries, missing: ["b", "c", "not-before-the-kill"])
        #expect(two.lostTasks == 2)
        #expect(abs(two.rpoSeconds - 2.5) < 1e-9)
        #expect(two.rtoSeconds == nil)
    }

    @Test func restoreFailsOnRTOOrRPOBeyondTheObjectivesOrWithoutEvidence() {
        let objectives = PhaseThresholds(rtoSeconds: 900, rpoSeconds: 300)
        let good = DeploymentChecks.Recovery(rtoSeconds: 3.2, lostTasks: 0, checkedTasks: 50, rpoSeconds: 0)
        #expect(Self.failing(DeploymentChecks.restore(good, tasks: Self.tasks(acknowledged: 50), thresholds: objectives, chains: Self.intact)).isEmpty)
        var slow = good
        slow.rtoSeconds = 901
        #expect(Self.failing(DeploymentChecks.restore(slow, tasks: Self.tasks(acknowledged: 50), thresholds: objectives, chains: Self.intact))
            == ["RTO (kill to the restored deployment ready)"])
        var neverReady = good
        neverReady.rtoSeconds = nil
        #expect(Self.failing(DeploymentChecks.restore(neverReady, tasks: Self.tasks(acknowledged: 50), thresholds: objectives, chains: Self.intact))
            == ["RTO (kill to the restored deployment ready)"])
        let lostMuch = DeploymentChecks.Recovery(rtoSeconds: 3.2, lostTasks: 9, checkedTasks: 50, rpoSeconds: 301)
        #expect(Self.failing(DeploymentChecks.restore(lostMuch, tasks: Self.tasks(acknowledged: 50, missing: 9), thresholds: objectives, chains: Self.intact))
            == ["RPO (acknowledged work not restored)"])
        let nothingToJudge = DeploymentChecks.Recovery(rtoSeconds: 3.2, lostTasks: 0, checkedTasks: 0, rpoSeconds: 0)
        #expect(Self.failing(DeploymentChecks.restore(nothingToJudge, tasks: Self.tasks(acknowledged: 0), thresholds: objectives, chains: Self.intact))
            == ["RPO (acknowledged work not restored)"])
        #expect(Self.failing(DeploymentChecks.restore(good, tasks: Self.tasks(acknowledged: 50), thresholds: objectives,
                                                      chains: .init(intact: false, detail: "exit 1")))
            == ["hash chains of the restored data (ares verify)"])
    }

    static func actingPhase(_ kind: PhaseKind, _ parts: [DeploymentActionResult]?) -> PhaseResult {
        var phase = PhaseResult(name: kind == .chaos ? "chaos" : "backup-restore", kind: kind, status: .ran, reason: nil, startSeconds: 0, endSeconds: 10,
                                scaledDurationSeconds: nil, thresholds: .defaults, mustPass: false)
        phase.actions = parts
        return phase
    }

    @Test func theGatesReadEachPartsChecksAndAPartThatDidNotRunFailsTesting() throws {
        let plan = ValidationPlan(name: "t", phases: [PlanPhase(name: "chaos", kind: .chaos)])
        let evaluator = GateEvaluator(plan: plan)
        let held = DeploymentActionResult(name: "model-outage", description: "", checks: [.init(name: "errors under the fault", measured: "0.00 %", threshold: "≤ 0.50 %", passed: true)])
        let broken = DeploymentActionResult(name: "kill-restart", description: "", checks: [.init(name: "acknowledged during the kills, lost", measured: "1 of 40", threshold: "= 0", passed: false)])
        let skipped = DeploymentActionResult.notRun("disk-80", "", reason: "not run: no filesystem could be made for the run (mount: permission denied)")

        let reliability = evaluator.reliability([Self.actingPhase(.chaos, [held, broken])], Self.tasks(acknowledged: 1))
        #expect(reliability.failures.map(\.name).contains("chaos/kill-restart: acknowledged during the kills, lost"))
        #expect(reliability.measurements.contains { $0.name == "chaos/model-outage: errors under the fault" && $0.passed })

        let testing = evaluator.testing([Self.actingPhase(.chaos, [held, skipped])])
        let phase = try #require(testing.measurements.first { $0.name == "phase chaos (chaos)" })
        #expect(!phase.passed)
        #expect(phase.measured.contains("disk-80 (not run: no filesystem could be made"))
        #expect(evaluator.testing([Self.actingPhase(.chaos, [held])]).passed)

        // A phase that says it ran but brings no measurement is no evidence.
        let empty = evaluator.reliability([Self.actingPhase(.chaos, [])], Self.tasks(acknowledged: 1))
        #expect(empty.failures.map(\.name).filter { $0.hasPrefix("chaos") } == ["chaos: measurements of the chaos phase"])
    }

    static func window(_ start: Double, ok: UInt64, failed: UInt64 = 0) -> LoadMeasurement.Window {
        var outcomes: [String: UInt64] = ["ok": ok]
        if failed > 0 { outcomes["connectionError"] = failed }
        return .init(startSeconds: start, seconds: 1, outcomes: outcomes, latency: .empty)
    }

    @Test func failedTrafficLastsFromTheKillToTheEndOfTheLastFailingWindow() {
        let windows = (0..<10).map { Self.window(Double($0), ok: 10, failed: [4, 5, 6].contains($0) ? 2 : 0) }
        let traffic = FailoverMeasurement.failedTraffic(windows: windows, killedAtSeconds: 4.5)
        #expect(traffic.seconds == 2.5 && traffic.failed == 6)
        // Requests due just before the kill fail when it lands: they count, and end before it (0 s).
        let early = FailoverMeasurement.failedTraffic(windows: windows, killedAtSeconds: 7)
        #expect(early.seconds == 0 && early.failed == 4)
        // Failures long before the kill are not the failover's.
        #expect(FailoverMeasurement.failedTraffic(windows: windows, killedAtSeconds: 9).failed == 0)
        // Still failing in the last window: it never got back to 0.
        let unending = (0..<5).map { Self.window(Double($0), ok: 10, failed: $0 >= 2 ? 1 : 0) }
        #expect(FailoverMeasurement.failedTraffic(windows: unending, killedAtSeconds: 2).seconds == nil)
    }

    @Test func aFifthOfTheReplicasAreKilledFromFiveOnElseOne() {
        #expect([1, 2, 3, 4, 5, 9, 10, 16].map { FailoverMeasurement.victimCount(replicas: $0) } == [0, 1, 1, 1, 1, 1, 2, 3])
    }

    @Test func failoverFailsWhenTooSlowStillFailingWithoutEvidenceOrInconsistent() {
        let good = FailoverMeasurement(replicas: 2, killed: ["validate-replica-1"], killedAtSeconds: 4, heldTasks: 3, takeoverSeconds: 5.4,
                                       notTakenOver: 0, failedTrafficSeconds: 0.6, failedRequestsAfterKill: 2, duplicateSteps: 0, duplicateExamples: [])
        var tasks = Self.tasks(acknowledged: 20)
        tasks.completed = 20
        #expect(Self.failing(DeploymentChecks.failover(good, limit: 30, tasks: tasks, chains: Self.intact)).isEmpty)
        var slow = good
        slow.takeoverSeconds = 31
        #expect(Self.failing(DeploymentChecks.failover(slow, limit: 30, tasks: tasks, chains: Self.intact))
            == ["failover: every held task running again on another replica (kill → last taken over)"])
        var stuck = good
        stuck.failedTrafficSeconds = nil
        #expect(Self.failing(DeploymentChecks.failover(stuck, limit: 30, tasks: tasks, chains: Self.intact))
            == ["failover: failed traffic back to 0 (kill → end of the last window with a failed request)"])
        var idle = good
        idle.heldTasks = 0
        idle.takeoverSeconds = nil
        #expect(Self.failing(DeploymentChecks.failover(idle, limit: 30, tasks: tasks, chains: Self.intact)).count == 2)
        var twice = good
        twice.duplicateSteps = 1
        #expect(Self.failing(DeploymentChecks.failover(twice, limit: 30, tasks: tasks, chains: Self.intact))
            == ["steps of the taken-over tasks recorded more than once"])
        var failedOne = tasks
        failedOne.completed = 19
        #expect(Self.failing(DeploymentChecks.failover(good, limit: 30, tasks: failedOne, chains: Self.intact))
            == ["tasks acknowledged during the failover that ended completed"])
        let broken = DeploymentChecks.ChainVerification(intact: false, detail: "exit 1: chain break")
        #expect(Self.failing(DeploymentChecks.failover(good, limit: 30, tasks: tasks, chains: broken))
            == ["hash chains in the database after the failover (ares db verify)"])
    }
}
