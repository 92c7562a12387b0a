/// The five gates of the Go/No-Go decision, computed only from measurements: the phases' load
/// measurements, the probes' checks and the task-loss check. No gate has a default verdict: a
/// gate whose evidence is missing (no load phase ran, a probe reported no checks) fails and
/// says so.
public struct GateEvaluator: Sendable {
    public var plan: ValidationPlan

    public init(plan: ValidationPlan) { self.plan = plan }

    public func evaluate(phases: [PhaseResult], probes: [ProbeReport], taskLoss: TaskLossCheck.Result?) -> [GateVerdict] {
        [performance(phases), security(probes), reliability(phases, taskLoss), integration(probes), testing(phases)]
    }

    /// Every load level that must pass holds its p95, throughput and error thresholds, and the
    /// highest level that held sustains at least the plan's minimum rate (100 RPS).
    func performance(_ phases: [PhaseResult]) -> GateVerdict {
        var measurements: [GateVerdict.Measurement] = []
        var highestHeld: (asked: Double, achieved: Double)?
        let levels = phases.filter { $0.kind == .load && $0.status == .ran && $0.mustPass }
        for phase in levels {
            guard let measurement = phase.measurement else { continue }
            let thresholds = phase.thresholds
            if let limit = thresholds.p95Milliseconds {
                let held = measurement.ok > 0 && measurement.latency.p95 < limit
                measurements.append(.init(name: "\(phase.name): p95 latency at \(Format.rate(measurement.askedRate))",
                                          measured: measurement.ok > 0 ? Format.milliseconds(measurement.latency.p95) : "no successful request",
                                          threshold: "< \(Format.milliseconds(limit))", passed: held))
            }
            if let ratio = thresholds.minimumThroughputRatio {
                let achieved = measurement.askedRate > 0 ? measurement.achievedRate / measurement.askedRate : 0
                measurements.append(.init(name: "\(phase.name): throughput achieved of asked",
                                          measured: "\(Format.rate(measurement.achievedRate)) (\(Format.percent(achieved)))",
                                          threshold: "≥ \(Format.percent(ratio)) of \(Format.rate(measurement.askedRate))", passed: achieved >= ratio))
            }
            if let maximum = thresholds.maximumErrorRate {
                measurements.append(.init(name: "\(phase.name): errors", measured: "\(Format.percent(measurement.errorRate)) (\(measurement.failed) of \(measurement.total))",
                                          threshold: "≤ \(Format.percent(maximum))", passed: measurement.errorRate <= maximum))
            }
            // A level that held all its thresholds sustained its asked rate (within the
            // throughput ratio): the gate compares the asked rate of the highest such level.
            if PhaseCheck.failures(of: measurement, against: thresholds).isEmpty, measurement.askedRate > (highestHeld?.asked ?? 0) {
                highestHeld = (measurement.askedRate, measurement.achievedRate)
            }
        }
        let minimum = plan.effectiveThresholds.minimumSustainedRate ?? 100
        measurements.append(.init(name: "sustained rate (highest load level that held all its thresholds)",
                                  measured: highestHeld.map { "\(Format.rate($0.asked)) (achieved \(Format.rate($0.achieved)))" }
                                      ?? (levels.isEmpty ? "no load level ran" : "no load level held"),
                                  threshold: "≥ \(Format.rate(minimum))", passed: (highestHeld?.asked ?? 0) >= minimum))
        return GateVerdict(gate: "Performance", measurements: measurements)
    }

    /// The attack suite: nothing it must refuse got in, nothing it sent made the server fail,
    /// every check ran.
    func security(_ probes: [ProbeReport]) -> GateVerdict {
        guard let report = probes.first(where: { $0.probe == "security" }) else {
            return GateVerdict(gate: "Security", measurements: [.init(name: "security attack suite", measured: "not run", threshold: "run", passed: false)])
        }
        return GateVerdict(gate: "Security", measurements: [
            .init(name: "attack checks run", measured: "\(report.checks.count)", threshold: "≥ 1", passed: !report.checks.isEmpty),
            .init(name: "bypasses (refused requests that got in)", measured: "\(report.count(.bypass))\(Self.examples(report, .bypass))",
                  threshold: "= 0", passed: report.count(.bypass) == 0),
            .init(name: "server errors provoked", measured: "\(report.count(.serverError))\(Self.examples(report, .serverError))",
                  threshold: "= 0", passed: report.count(.serverError) == 0),
            .init(name: "checks that could not run", measured: "\(report.count(.notRun))\(Self.examples(report, .notRun))",
                  threshold: "= 0", passed: report.count(.notRun) == 0),
            .init(name: "other failed checks", measured: "\(report.count(.violation))\(Self.examples(report, .violation))",
                  threshold: "= 0", passed: report.count(.violation) == 0),
        ])
    }

    /// Availability over the load and soak phases (stress pushes past capacity on purpose and
    /// is judged by its recovery), acknowledged tasks all found ended, sampled chains intact,
    /// and a stress phase's recovery within its limit.
    func reliability(_ phases: [PhaseResult], _ loss: TaskLossCheck.Result?) -> GateVerdict {
        var measurements: [GateVerdict.Measurement] = []
        let steady = phases.filter { ($0.kind == .load || $0.kind == .soak) && $0.status == .ran }.compactMap(\.measurement)
        let total = steady.reduce(UInt64(0)) { $0 + $1.total }
        let ok = steady.reduce(UInt64(0)) { $0 + $1.ok }
        let required = plan.effectiveThresholds.availability ?? 0.995
        let availability = total > 0 ? Double(ok) / Double(total) : 0
        measurements.append(.init(name: "availability (successful of all requests due in load and soak phases)",
                                  measured: total > 0 ? "\(Format.percent(availability)) (\(ok) of \(total))" : "no requests",
                                  threshold: "≥ \(Format.percent(required))", passed: total > 0 && availability >= required))
        for phase in phases where phase.kind == .soak && phase.status == .ran {
            guard let measurement = phase.measurement, let maximum = phase.thresholds.maximumErrorRate else { continue }
            measurements.append(.init(name: "\(phase.name): errors over the soak", measured: Format.percent(measurement.errorRate),
                                      threshold: "≤ \(Format.percent(maximum))", passed: measurement.errorRate <= maximum))
        }
        for phase in phases where phase.kind == .stress && phase.status == .ran {
            let limit = phase.thresholds.recoverySeconds ?? 300
            if phase.breakingRate == nil {
                measurements.append(.init(name: "\(phase.name): recovery after overload",
                                          measured: "no step failed up to \(phase.highestPassingRate.map(Format.rate) ?? "–") (nothing to recover from)",
                                          threshold: "≤ \(Format.seconds(limit))", passed: true))
            } else {
                let seconds = phase.recovery?.seconds
                measurements.append(.init(name: "\(phase.name): recovery after failing at \(phase.breakingRate.map(Format.rate) ?? "–")",
                                          measured: seconds.map(Format.seconds) ?? "not recovered within \(Format.seconds(phase.recovery?.observedSeconds ?? 0))",
                                          threshold: "≤ \(Format.seconds(limit))", passed: seconds.map { $0 <= limit } ?? false))
            }
        }
        // Phases that acted on the deployment (chaos, failover, restore) bring their own
        // measurements: each part's checks (server back after every kill, errors under model
        // faults and a full disk, RTO and RPO, chains verified) count here.
        for phase in phases where !phase.kind.isLoad && phase.status == .ran {
            let parts = (phase.actions ?? []).filter { $0.status == .ran }
            if parts.isEmpty || parts.allSatisfy(\.checks.isEmpty) {
                measurements.append(.init(name: "\(phase.name): measurements of the \(phase.kind.rawValue) phase", measured: "none recorded",
                                          threshold: "at least one", passed: false))
            }
            for part in parts {
                measurements += part.checks.map { check in
                    GateVerdict.Measurement(name: "\(phase.name)/\(part.name): \(check.name)", measured: check.measured,
                                            threshold: check.threshold, passed: check.passed)
                }
            }
        }
        if let loss {
            let leftOut = loss.notRestoredWithinRPO
            measurements.append(.init(name: "acknowledged tasks lost (not found, not ended by the deadline, or unreadable)",
                                      measured: "\(loss.lost) of \(loss.acknowledged) (missing \(loss.missing)\(leftOut.isEmpty ? "" : ", of them \(leftOut.count) left out below"), unfinished \(loss.unfinished), unreadable \(loss.unreadable))",
                                      threshold: "= 0", passed: loss.lost == 0))
            // The restore part destroys the deployment on purpose; what it was allowed to lose
            // (its RPO check above gates that) is shown here by id rather than counted twice.
            let restores = phases.filter { $0.status == .ran }.flatMap { ($0.actions ?? []).filter { $0.status == .ran } }
                .compactMap(\.tasksNotRestored)
            if !restores.isEmpty || !leftOut.isEmpty {
                let objective = restores.map(\.rpoSeconds).min().map { "acknowledged ≤ \(Format.seconds($0)) (the RPO) before the restore's kill" }
                    ?? "acknowledged within a restore's RPO"
                measurements.append(.init(name: "acknowledged tasks not restored within the restore's RPO (left out of the tasks lost)",
                                          measured: leftOut.isEmpty ? "0" : "\(leftOut.count): " + leftOut.prefix(20).joined(separator: ", ")
                                              + (leftOut.count > 20 ? ", … (every id in report.json, taskLoss.notRestoredWithinRPO)" : ""),
                                          threshold: objective + ", not found afterwards", passed: true))
            }
            if loss.chainsUncheckable {
                measurements.append(.init(name: "task hash chains", measured: "not checkable (the target has no ares/verifyTask)", threshold: "all intact", passed: true))
            } else {
                measurements.append(.init(name: "task hash chains verified (sample)", measured: "\(loss.chainsIntact) intact, \(loss.chainsBroken) broken of \(loss.chainsChecked)",
                                          threshold: "0 broken", passed: loss.chainsBroken == 0))
            }
        } else {
            measurements.append(.init(name: "acknowledged tasks lost", measured: "not checked", threshold: "= 0", passed: false))
        }
        return GateVerdict(gate: "Reliability", measurements: measurements)
    }

    /// The A2A and MCP conformance checks: every MUST the target claims held.
    func integration(_ probes: [ProbeReport]) -> GateVerdict {
        guard let report = probes.first(where: { $0.probe == "conformance" }) else {
            return GateVerdict(gate: "Integration", measurements: [.init(name: "A2A/MCP conformance checks", measured: "not run", threshold: "run", passed: false)])
        }
        return GateVerdict(gate: "Integration", measurements: [
            .init(name: "conformance checks run", measured: "\(report.checks.count)", threshold: "≥ 1", passed: !report.checks.isEmpty),
            .init(name: "MUSTs broken", measured: "\(report.count(.violation))\(Self.examples(report, .violation))", threshold: "= 0", passed: report.count(.violation) == 0),
            .init(name: "server errors", measured: "\(report.count(.serverError))\(Self.examples(report, .serverError))", threshold: "= 0", passed: report.count(.serverError) == 0),
            .init(name: "checks that could not run", measured: "\(report.count(.notRun))\(Self.examples(report, .notRun))", threshold: "= 0", passed: report.count(.notRun) == 0),
            .init(name: "other failed checks", measured: "\(report.count(.bypass))\(Self.examples(report, .bypass))", threshold: "= 0", passed: report.count(.bypass) == 0),
        ])
    }

    /// Every phase of the plan ran.
    func testing(_ phases: [PhaseResult]) -> GateVerdict {
        // A phase ran only if every part of it ran: a chaos phase whose disk-full part found no
        // way to make a filesystem has not shown what a full disk does.
        func skipped(_ phase: PhaseResult) -> [DeploymentActionResult] { (phase.actions ?? []).filter { $0.status != .ran } }
        func ran(_ phase: PhaseResult) -> Bool { phase.status == .ran && skipped(phase).isEmpty }
        var measurements = phases.map { phase in
            let measured = phase.status != .ran ? (phase.reason ?? "not run")
                : skipped(phase).isEmpty ? "ran"
                : "ran, but not " + skipped(phase).map { "\($0.name) (\($0.reason ?? "not run"))" }.joined(separator: ", ")
            return GateVerdict.Measurement(name: "phase \(phase.name) (\(phase.kind.rawValue))", measured: measured, threshold: "ran", passed: ran(phase))
        }
        let planned = plan.phases.count
        measurements.append(.init(name: "phases run of the plan", measured: "\(phases.filter(ran).count) of \(planned)",
                                  threshold: "all \(planned)", passed: phases.count == planned && phases.allSatisfy(ran)))
        return GateVerdict(gate: "Testing", measurements: measurements)
    }

    private static func examples(_ report: ProbeReport, _ outcome: ProbeCheck.Outcome) -> String {
        let ids = report.checks.filter { $0.outcome == outcome }.prefix(5).map(\.id)
        return ids.isEmpty ? "" : ": " + ids.joined(separator: ", ")
    }
}
