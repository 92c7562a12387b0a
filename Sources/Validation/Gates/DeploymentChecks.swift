import Foundation

/// The checks of the phases that act on the deployment, from their measurements only: what
/// the chaos parts (model faults, kills, a nearly full disk) and the backup/restore phase hold
/// ares to. Each returns gate measurements (measured, threshold, held) for the reliability
/// gate; none passes without evidence.
public enum DeploymentChecks {
    /// One SIGKILL of the deployment and how long it took to serve again.
    public struct Kill: Sendable, Codable, Equatable {
        /// Seconds into the part when the process was killed.
        public var atSeconds: Double
        /// From the kill to `/health/ready` answering 200 on the restarted process; nil if it
        /// did not come back.
        public var backAfterSeconds: Double?

        public init(atSeconds: Double, backAfterSeconds: Double?) {
            self.atSeconds = atSeconds
            self.backAfterSeconds = backAfterSeconds
        }
    }

    /// What `ares verify` said of a data directory's hash chains (`ares db verify` of a shared database's).
    public struct ChainVerification: Sendable, Codable, Equatable {
        /// Whether every chain is intact (exit status 0).
        public var intact: Bool
        /// Its first line of output or error, for the report.
        public var detail: String
        /// The command that checked them, named in the check.
        public var command: String

        public init(intact: Bool, detail: String, command: String = "ares verify") {
            self.intact = intact
            self.detail = detail
            self.command = command
        }
    }

    /// Load while a fault ares must absorb is in place (model latency or outage: the built-in
    /// agents take over; a nearly full disk: writes still fit): errors within the phase's
    /// limit, and the server still live afterwards.
    public static func underFault(_ measurement: LoadMeasurement, thresholds: PhaseThresholds, serverAlive: Bool) -> [GateVerdict.Measurement] {
        let maximum = thresholds.maximumErrorRate ?? 0.005
        return [
            .init(name: "errors under the fault", measured: measurement.total > 0 ? "\(Format.percent(measurement.errorRate)) (\(measurement.failed) of \(measurement.total)\(measurement.failed > 0 ? ": " + Format.outcomes(measurement.outcomes.filter { $0.key != RequestOutcome.ok.rawValue }) : ""))" : "no requests",
                  threshold: "≤ \(Format.percent(maximum))", passed: measurement.total > 0 && measurement.errorRate <= maximum),
            .init(name: "server up after the fault", measured: serverAlive ? "live" : "not answering /health/live", threshold: "live", passed: serverAlive),
        ]
    }

    /// SIGKILLs at random moments under load: every restart served again within the recovery
    /// limit, nothing acknowledged was lost, and every hash chain verifies afterwards.
    public static func killsAndRestarts(_ kills: [Kill], recoveryLimit: Double, tasks: TaskLossCheck.Result,
                                        chains: ChainVerification) -> [GateVerdict.Measurement] {
        let back = kills.compactMap(\.backAfterSeconds)
        let allBack = !kills.isEmpty && back.count == kills.count
        return [
            .init(name: "kills", measured: "\(kills.count) (at " + kills.map { Format.seconds($0.atSeconds) }.joined(separator: ", ") + ")",
                  threshold: "≥ 1", passed: !kills.isEmpty),
            .init(name: "restarted and ready after every kill (slowest)",
                  measured: allBack ? Format.seconds(back.max() ?? 0) : "\(kills.count - back.count) of \(kills.count) restarts never became ready",
                  threshold: "≤ \(Format.seconds(recoveryLimit))", passed: allBack && (back.max() ?? 0) <= recoveryLimit),
            lost(tasks, "acknowledged during the kills, lost"),
            .init(name: "hash chains after the kills (\(chains.command))", measured: chains.detail, threshold: "all intact", passed: chains.intact),
        ]
    }

    /// Load with the data directory on a filesystem filled to `targetRatio`: the fill was
    /// reached, errors stayed within the limit, nothing acknowledged was lost.
    public static func nearlyFullDisk(_ measurement: LoadMeasurement, thresholds: PhaseThresholds, usedRatio: Double, targetRatio: Double,
                                      serverAlive: Bool, tasks: TaskLossCheck.Result) -> [GateVerdict.Measurement] {
        [.init(name: "data filesystem used while the load ran", measured: Format.percent(usedRatio), threshold: "≥ \(Format.percent(targetRatio))",
               passed: usedRatio >= targetRatio)]
            + underFault(measurement, thresholds: thresholds, serverAlive: serverAlive)
            + [lost(tasks, "acknowledged on the full disk, lost")]
    }

    /// The recovery objectives of losing the deployment and restoring its continuous backup.
    public struct Recovery: Sendable, Codable, Equatable {
        /// From the kill to `/health/ready` on the restored deployment; nil if it never got there.
        public var rtoSeconds: Double?
        /// Acknowledged before the kill and missing after the restore.
        public var lostTasks: Int
        /// Acknowledged before the kill and checked after the restore.
        public var checkedTasks: Int
        /// From the acknowledgement of the oldest lost task to the kill (0 when none was lost):
        /// how much acknowledged work the restore did not bring back.
        public var rpoSeconds: Double
        /// Every task counted in `lostTasks`, oldest acknowledgement first, with how long before
        /// the kill it was acknowledged: the run-wide loss check needs the ids, the report shows them.
        public var notRestored: [NotRestoredTask] = []

        /// One acknowledged task the restored deployment does not know.
        public struct NotRestoredTask: Sendable, Codable, Equatable {
            public var id: String
            /// From its acknowledgement to the kill; 0 for an answer the killed process sent
            /// just before the SIGKILL that reached the generator just after it.
            public var secondsBeforeKill: Double

            public init(id: String, secondsBeforeKill: Double) {
                self.id = id
                self.secondsBeforeKill = secondsBeforeKill
            }
        }

        /// What came back, for a restore part's facts: the tasks checked, lost, and the first 20
        /// not restored with how long before the kill each was acknowledged.
        public var facts: [String: String] {
            ["tasks acknowledged before the kill": "\(checkedTasks)", "lost tasks": "\(lostTasks)",
             "tasks not restored (acknowledged this long before the kill)": notRestored.isEmpty ? "none"
                : notRestored.prefix(20).map { "\($0.id) (\(Format.seconds($0.secondsBeforeKill)))" }.joined(separator: ", ")
                + (notRestored.count > 20 ? ", … (\(notRestored.count) in all)" : "")]
        }

        /// The lost tasks acknowledged within `rpoSeconds` of the kill: those the objective
        /// allows, which the run-wide check leaves out. Older ones are not allowed anywhere.
        public func notRestored(within rpoSeconds: Double) -> TasksNotRestored {
            TasksNotRestored(taskIDs: notRestored.filter { $0.secondsBeforeKill <= rpoSeconds }.map(\.id), rpoSeconds: rpoSeconds)
        }
    }

    /// RTO and RPO from the moments measured: `beforeKill` are the tasks the killed process
    /// acknowledged, `missing` those of them the restored deployment does not know.
    public static func recovery(killedAt: Date, readyAt: Date?, beforeKill: [TaskLedger.Entry], missing: Set<String>) -> Recovery {
        let lost = beforeKill.filter { missing.contains($0.id) }.sorted { $0.acknowledgedAt < $1.acknowledgedAt }
        let notRestored = lost.map { Recovery.NotRestoredTask(id: $0.id, secondsBeforeKill: max(0, killedAt.timeIntervalSince($0.acknowledgedAt))) }
        return Recovery(rtoSeconds: readyAt.map { max(0, $0.timeIntervalSince(killedAt)) }, lostTasks: lost.count, checkedTasks: beforeKill.count,
                        rpoSeconds: notRestored.first?.secondsBeforeKill ?? 0, notRestored: notRestored)
    }

    /// The restore phase's checks: RTO and RPO within the plan's objectives, some acknowledged
    /// tasks to judge the RPO by, none of them unreadable, and the restored chains intact.
    public static func restore(_ recovery: Recovery, tasks: TaskLossCheck.Result, thresholds: PhaseThresholds,
                               chains: ChainVerification) -> [GateVerdict.Measurement] {
        let rto = thresholds.rtoSeconds ?? 900, rpo = thresholds.rpoSeconds ?? 300
        return [
            .init(name: "RTO (kill to the restored deployment ready)", measured: recovery.rtoSeconds.map(Format.seconds) ?? "never ready",
                  threshold: "≤ \(Format.seconds(rto))", passed: recovery.rtoSeconds.map { $0 <= rto } ?? false),
            .init(name: "RPO (acknowledged work not restored)",
                  measured: "\(Format.seconds(recovery.rpoSeconds)) (\(recovery.lostTasks) of \(recovery.checkedTasks) tasks acknowledged before the kill missing)",
                  threshold: "≤ \(Format.seconds(rpo))", passed: recovery.checkedTasks > 0 && recovery.rpoSeconds <= rpo),
            .init(name: "tasks acknowledged before the kill, unreadable after the restore", measured: "\(tasks.unreadable)", threshold: "= 0",
                  passed: tasks.unreadable == 0),
            .init(name: "hash chains of the restored data (\(chains.command))", measured: chains.detail, threshold: "all intact", passed: chains.intact),
        ]
    }

    private static func lost(_ tasks: TaskLossCheck.Result, _ name: String) -> GateVerdict.Measurement {
        .init(name: name, measured: "\(tasks.lost) of \(tasks.acknowledged) (missing \(tasks.missing), unfinished \(tasks.unfinished), unreadable \(tasks.unreadable))",
              threshold: "= 0", passed: tasks.lost == 0)
    }
}
