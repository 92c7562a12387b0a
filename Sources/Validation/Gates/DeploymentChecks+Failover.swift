extension DeploymentChecks {
    /// The failover phase's checks: replicas were killed while they held work (evidence), every
    /// task they held ran again elsewhere and failed traffic stopped within the plan's failover
    /// limit (30 s), and consistency is 100 %: every task acknowledged during the part ended
    /// completed, no step of a taken-over task was recorded twice, every chain verifies.
    public static func failover(_ measured: FailoverMeasurement, limit: Double, tasks: TaskLossCheck.Result,
                                chains: ChainVerification) -> [GateVerdict.Measurement] {
        let victims = FailoverMeasurement.victimCount(replicas: measured.replicas)
        return [
            .init(name: "replicas SIGKILLed", measured: "\(measured.killed.count) of \(measured.replicas) (\(measured.killed.joined(separator: ", "))) at \(Format.seconds(measured.killedAtSeconds))",
                  threshold: "\(victims) (20 % of the replicas from 5 on, else 1)", passed: !measured.killed.isEmpty && measured.killed.count == victims),
            .init(name: "tasks the killed replicas held at the kill", measured: "\(measured.heldTasks)", threshold: "≥ 1 (evidence)",
                  passed: measured.heldTasks > 0),
            .init(name: "failover: every held task running again on another replica (kill → last taken over)",
                  measured: measured.takeoverSeconds.map(Format.seconds) ?? "\(measured.notTakenOver) of \(measured.heldTasks) never taken over",
                  threshold: "< \(Format.seconds(limit))", passed: measured.heldTasks > 0 && measured.takeoverSeconds.map { $0 < limit } == true),
        ] + afterTheKill(measured, limit: limit, tasks: tasks) + [
            .init(name: "hash chains in the database after the failover (ares db verify)", measured: chains.detail, threshold: "all intact",
                  passed: chains.intact),
        ]
    }

    /// What both deployments' failover must show after the kill: failed traffic stopped within
    /// the limit, every task acknowledged during the part completed, no step recorded twice.
    static func afterTheKill(_ measured: FailoverMeasurement, limit: Double, tasks: TaskLossCheck.Result) -> [GateVerdict.Measurement] {
        [
            .init(name: "failover: failed traffic back to 0 (kill → end of the last window with a failed request)",
                  measured: (measured.failedTrafficSeconds.map(Format.seconds) ?? "still failing when the load ended") + " (\(measured.failedRequestsAfterKill) requests failed, due from \(Format.seconds(FailoverMeasurement.inFlightSeconds)) before the kill on)",
                  threshold: "< \(Format.seconds(limit))", passed: measured.failedTrafficSeconds.map { $0 < limit } == true),
            .init(name: "tasks acknowledged during the failover that ended completed",
                  measured: "\(tasks.completed) of \(tasks.acknowledged) (missing \(tasks.missing), unfinished \(tasks.unfinished), unreadable \(tasks.unreadable), ended otherwise \(tasks.ended - tasks.completed))",
                  threshold: "100 %", passed: tasks.acknowledged > 0 && tasks.completed == tasks.acknowledged),
            .init(name: "steps of the taken-over tasks recorded more than once",
                  measured: "\(measured.duplicateSteps)" + (measured.duplicateExamples.isEmpty ? "" : " (" + measured.duplicateExamples.joined(separator: "; ") + ")"),
                  threshold: "= 0", passed: measured.duplicateSteps == 0),
        ]
    }
}

extension DeploymentChecks {
    /// The failover phase's checks on the embedded deployment (one `ares serve` over a data
    /// directory, `ares serve --standby` beside it): the serving process was SIGKILLed while it
    /// held unfinished tasks (evidence), the standby took over (ready on the same port, and every
    /// held task recorded a new step or ended) and failed traffic stopped within the plan's limit,
    /// every task acknowledged during the part ended completed, no step recorded twice, `ares
    /// verify` clean, and a new standby waits afterwards (so the deployment can fail over again).
    /// `measured.takeoverSeconds` is kill → the later of "standby ready" and "last held task running again".
    public static func embeddedFailover(_ measured: FailoverMeasurement, standbyReadySeconds: Double?, limit: Double,
                                        tasks: TaskLossCheck.Result, chains: ChainVerification,
                                        newStandbyWaiting: Bool) -> [GateVerdict.Measurement] {
        [
            .init(name: "serving process SIGKILLed while it held unfinished tasks",
                  measured: "\(measured.killed.joined(separator: ", ")) at \(Format.seconds(measured.killedAtSeconds)), holding \(measured.heldTasks)",
                  threshold: "1 kill, ≥ 1 task held (evidence)", passed: measured.killed.count == 1 && measured.heldTasks > 0),
            .init(name: "failover: the standby ready on the same port (kill → /health/ready 200)",
                  measured: standbyReadySeconds.map(Format.seconds) ?? "never ready", threshold: "< \(Format.seconds(limit))",
                  passed: standbyReadySeconds.map { $0 < limit } == true),
            .init(name: "failover: every held task running again under the standby (kill → last one's next step)",
                  measured: measured.takeoverSeconds.map(Format.seconds) ?? "\(measured.notTakenOver) of \(measured.heldTasks) never ran again",
                  threshold: "< \(Format.seconds(limit))", passed: measured.heldTasks > 0 && measured.takeoverSeconds.map { $0 < limit } == true),
        ] + afterTheKill(measured, limit: limit, tasks: tasks) + [
            .init(name: "hash chains after the failover (ares verify)", measured: chains.detail, threshold: "all intact", passed: chains.intact),
            .init(name: "a new standby waiting after the takeover", measured: newStandbyWaiting ? "waiting" : "not waiting",
                  threshold: "waiting", passed: newStandbyWaiting),
        ]
    }
}
