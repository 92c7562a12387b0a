import AsyncHTTPClient
import Foundation
import NIOCore

/// One validation: the probes, then the plan's phases in order with the target's /metrics read
/// throughout, then the task-loss check, the gates and the report. It talks to the target only
/// over HTTP, so it validates any deployment; phases that must act on the deployment (chaos,
/// failover, restore) run only through `phaseActions`, which `--manage` supplies.
public struct ValidationRun: Sendable {
    /// Runs a phase that acts on the deployment, with the run's load generator and ledger at
    /// hand; returns nil when it cannot (the phase is then reported as not run with
    /// `unsupportedReason`).
    public typealias PhaseAction = @Sendable (PhaseActionContext) async -> [DeploymentActionResult]?
    public typealias Probe = @Sendable (HTTPClient) async -> ProbeReport

    public var plan: ValidationPlan
    public var scale: Double
    public var target: ValidationTarget
    /// `Authorization` values the load rotates over (one per simulated orchestrator); empty: none.
    public var loadAuthorizations: [String]
    public var environment: RunEnvironment
    public var probes: [Probe]
    public var phaseActions: [PhaseKind: PhaseAction]
    public var unsupportedReason: @Sendable (PhaseKind) -> String
    /// How long the task-loss check waits for acknowledged tasks to end.
    public var taskLossDeadline: Duration
    public var progress: @Sendable (String) -> Void
    /// A replicated deployment: the load, the task checks and the phases spread their requests
    /// over its replicas (probes and /metrics stay on `target`, the first replica).
    public var balancer: ReplicaBalancer?

    public init(plan: ValidationPlan, scale: Double, target: ValidationTarget, loadAuthorizations: [String], environment: RunEnvironment,
                probes: [Probe] = [], phaseActions: [PhaseKind: PhaseAction] = [:],
                unsupportedReason: @escaping @Sendable (PhaseKind) -> String = ValidationRun.defaultUnsupportedReason,
                taskLossDeadline: Duration = .seconds(120), progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.plan = plan
        self.scale = scale
        self.target = target
        self.loadAuthorizations = loadAuthorizations
        self.environment = environment
        self.probes = probes
        self.phaseActions = phaseActions
        self.unsupportedReason = unsupportedReason
        self.taskLossDeadline = taskLossDeadline
        self.progress = progress
    }

    public static let defaultUnsupportedReason: @Sendable (PhaseKind) -> String = { kind in
        switch kind {
        case .chaos: "not run: needs --manage (kills the deployment, injects model faults, fills a filesystem made for the run)"
        case .failover: "not run: needs --manage with PostgreSQL replicas (a primary and standbys to fail over)"
        case .restore: "not run: needs --manage (kills the deployment and restores its continuous backup)"
        case .load, .stress, .soak: "not run"
        }
    }

    /// The shortest phase or step after scaling: a rate needs some time to mean anything.
    public static let minimumScaledSeconds = 1.0

    public func scaled(_ seconds: Double) -> Double {
        let value = seconds * scale
        // At most a year: durations become integer milliseconds, which must not overflow.
        return value.isFinite ? min(max(Self.minimumScaledSeconds, value), 366 * 86400) : Self.minimumScaledSeconds
    }

    public func run() async -> ValidationReport {
        let startedAt = Date()
        let clock = ContinuousClock()
        let origin = clock.now
        let maximumInFlight = plan.maximumInFlight ?? 512
        let client = LoadHTTPClient.makeClient(connections: maximumInFlight)
        let http = LoadHTTPClient(client: client, timeout: .milliseconds(Int64((plan.requestTimeoutSeconds ?? 30) * 1000)))
        var environment = self.environment
        await readAgentCard(http, into: &environment)
        var notes: [String] = []

        var probeReports: [ProbeReport] = []
        for probe in probes {
            let report = await probe(client)
            progress("probe \(report.probe): \(report.checks.count) checks, \(report.failures.count) failed")
            probeReports.append(report)
        }

        let ledger = TaskLedger()
        let scraper = MetricsScraper(http: http, target: target, authorization: loadAuthorizations.first ?? target.authorizationHeader,
                                     interval: scrapeInterval)
        let (phases, loss) = await withTaskGroup(of: Void.self, returning: ([PhaseResult], TaskLossCheck.Result?).self) { group in
            group.addTask { await scraper.run(origin: origin) }
            if let balancer { group.addTask { await balancer.run(http: http) } }
            var phases: [PhaseResult] = []
            for phase in plan.phases {
                if Task.isCancelled { break }
                let result = await run(phase, http: http, ledger: ledger, clock: clock, origin: origin, maximumInFlight: maximumInFlight)
                phases.append(result)
            }
            var loss: TaskLossCheck.Result?
            if phases.contains(where: { $0.kind.isLoad && $0.status == .ran }) {
                progress("checking the \(ledger.count) acknowledged tasks ...")
                let workload = A2AWorkload(http: http, target: target, authorizations: loadAuthorizations, mix: plan.effectiveMix, ledger: ledger,
                                           balancer: balancer)
                // A restore part's own losses within its RPO are its evidence, not a second loss.
                let result = await TaskLossCheck(workload: workload, deadline: taskLossDeadline).run().leavingOutTasksNotRestored(by: phases)
                progress("tasks: \(result.acknowledged) acknowledged, \(result.ended) ended, \(result.lost) lost"
                    + (result.notRestoredWithinRPO.isEmpty ? "" : " (and \(result.notRestoredWithinRPO.count) not restored within the restore's RPO, left out)")
                    + "; chains \(result.chainsIntact)/\(result.chainsChecked) intact")
                loss = result
            }
            group.cancelAll()
            return (phases, loss)
        }
        if let balancer {
            notes.append("the load was spread round-robin over \(balancer.replicas.count) replicas by the generator itself (a client-side load balancer: a replica leaves the rotation at a refused connection or a failed /health/ready, read every 250 ms); requests per replica: \(balancer.sentPerReplica.map(String.init).joined(separator: ", ")); times each left the rotation: \(balancer.ejectionsPerReplica.map(String.init).joined(separator: ", "))")
        }
        if probes.isEmpty { notes.append("no probes were configured: the security and integration gates have no evidence") }
        try? await client.shutdown()
        let gates = GateEvaluator(plan: plan).evaluate(phases: phases, probes: probeReports, taskLoss: loss)
        return ValidationReport(startedAt: startedAt, finishedAt: Date(), decision: gates.allSatisfy(\.passed) ? .go : .noGo,
                                plan: plan, scale: scale, environment: environment, gates: gates, phases: phases, probes: probeReports,
                                taskLoss: loss, serverMetrics: scraper.collected, failedMetricScrapes: scraper.failedScrapes, notes: notes)
    }

    /// About 200 samples over the load phases, between 1 s and 60 s apart.
    private var scrapeInterval: Duration {
        let seconds = plan.phases.filter(\.kind.isLoad).reduce(0.0) { $0 + scaled($1.durationSeconds ?? 0) }
        return .milliseconds(Int64(min(60, max(1, seconds / 200)) * 1000))
    }

    private func run(_ phase: PlanPhase, http: LoadHTTPClient, ledger: TaskLedger, clock: ContinuousClock,
                     origin: ContinuousClock.Instant, maximumInFlight: Int) async -> PhaseResult {
        let thresholds = plan.thresholds(of: phase)
        let start = Self.seconds(clock.now - origin)
        var result = PhaseResult(name: phase.name, kind: phase.kind, status: .ran, reason: nil, startSeconds: start, endSeconds: start,
                                 scaledDurationSeconds: phase.durationSeconds.map(scaled), thresholds: thresholds,
                                 mustPass: phase.kind == .load && (phase.mustPass ?? true))
        let workload = A2AWorkload(http: http, target: target, authorizations: loadAuthorizations, mix: phase.mix ?? plan.effectiveMix, ledger: ledger,
                                   balancer: balancer)
        switch phase.kind {
        case .load, .soak:
            let rate = phase.rate ?? 0
            let seconds = scaled(phase.durationSeconds ?? 0)
            progress("\(phase.name): \(Format.rate(rate)) for \(Format.seconds(seconds)) ...")
            let measurement = await generate(workload, rate: rate, seconds: seconds, maximumInFlight: maximumInFlight)
            result.measurement = measurement
            let failures = PhaseCheck.failures(of: measurement, against: thresholds)
            progress("\(phase.name): \(Format.rate(measurement.achievedRate)) ok, p95 \(Format.milliseconds(measurement.latency.p95)), p99 \(Format.milliseconds(measurement.latency.p99)), errors \(Format.percent(measurement.errorRate))" + (failures.isEmpty ? "" : " — " + failures.joined(separator: "; ")))
        case .stress:
            await stress(phase, thresholds: thresholds, workload: workload, maximumInFlight: maximumInFlight, clock: clock, into: &result)
        case .chaos, .failover, .restore:
            let context = PhaseActionContext(
                phase: phase, scale: scale, thresholds: thresholds, ledger: ledger, http: http, target: target, progress: progress,
                generate: { rate, seconds in await generate(workload, rate: rate, seconds: seconds, maximumInFlight: maximumInFlight) },
                lookUp: { entries, deadline in await TaskLossCheck(workload: workload, deadline: deadline).run(entries) })
            if let action = phaseActions[phase.kind], let parts = await action(context) {
                result.actions = parts
                for part in parts {
                    let failed = part.checks.filter { !$0.passed }
                    progress("\(phase.name)/\(part.name): " + (part.status == .ran
                        ? (failed.isEmpty ? "held" : "FAILED " + failed.map { "\($0.name): \($0.measured) (needs \($0.threshold))" }.joined(separator: "; "))
                        : (part.reason ?? "not run")))
                }
            } else {
                result.status = .notRun
                result.reason = unsupportedReason(phase.kind)
                progress("\(phase.name): \(result.reason ?? "not run")")
            }
        }
        result.endSeconds = Self.seconds(clock.now - origin)
        return result
    }

    private func stress(_ phase: PlanPhase, thresholds: PhaseThresholds, workload: A2AWorkload, maximumInFlight: Int,
                        clock: ContinuousClock, into result: inout PhaseResult) async {
        var rate = phase.rate ?? 0
        // A factor of 1 or less would never reach the maximum: the plan refuses it, and so does the run.
        let factor = max(1.01, phase.stepFactor ?? 1.5)
        let maximum = phase.maximumRate ?? rate * 64
        let stepSeconds = scaled(phase.durationSeconds ?? 0)
        var steps: [PhaseResult.StressStep] = []
        var failedStepEnd: ContinuousClock.Instant?
        while !Task.isCancelled {
            progress("\(phase.name): step at \(Format.rate(rate)) for \(Format.seconds(stepSeconds)) ...")
            let stepStart = clock.now
            let measurement = await generate(workload, rate: rate, seconds: stepSeconds, maximumInFlight: maximumInFlight)
            let failures = PhaseCheck.failures(of: measurement, against: thresholds)
            steps.append(.init(rate: rate, measurement: measurement, failures: failures))
            progress("\(phase.name): \(Format.rate(rate)) → \(Format.rate(measurement.achievedRate)) ok, p95 \(Format.milliseconds(measurement.latency.p95)), errors \(Format.percent(measurement.errorRate))" + (failures.isEmpty ? " (held)" : " — failed: " + failures.joined(separator: "; ")))
            if !failures.isEmpty {
                result.breakingRate = rate
                // The overload ends when the step's schedule ends; answers still arriving after
                // that are part of the recovery.
                failedStepEnd = stepStart + .milliseconds(Int64(stepSeconds * 1000))
                break
            }
            result.highestPassingRate = rate
            let next = rate * factor
            guard next <= maximum else { break }
            rate = next
        }
        result.steps = steps
        guard let failedStepEnd else { return }
        let recoveryRate = phase.recoveryRate ?? min(100, phase.rate ?? 100)
        let limit = thresholds.recoverySeconds ?? 300
        // Watch at least a little past the limit, so "not recovered" is a measurement too.
        let observeFor = min(1200, max(10, limit * 1.2))
        var windows: [LoadMeasurement.Window] = []
        var recovered: Double?
        progress("\(phase.name): recovery at \(Format.rate(recoveryRate)) ...")
        while !Task.isCancelled, Self.seconds(clock.now - failedStepEnd) < observeFor {
            let measurement = await generate(workload, rate: recoveryRate, seconds: 1, maximumInFlight: maximumInFlight)
            let window = LoadMeasurement.Window(startSeconds: Self.seconds(clock.now - failedStepEnd), seconds: 1,
                                                outcomes: measurement.outcomes, latency: measurement.latency)
            windows.append(window)
            if PhaseCheck.failures(of: measurement, against: thresholds).isEmpty {
                recovered = Self.seconds(clock.now - failedStepEnd)
                break
            }
        }
        result.recovery = .init(rate: recoveryRate, seconds: recovered, observedSeconds: Self.seconds(clock.now - failedStepEnd), windows: windows)
        progress("\(phase.name): " + (recovered.map { "recovered in \(Format.seconds($0))" } ?? "not recovered within \(Format.seconds(observeFor))"))
    }

    private func generate(_ workload: A2AWorkload, rate: Double, seconds: Double, maximumInFlight: Int) async -> LoadMeasurement {
        let generator = OpenLoopGenerator(rate: rate, duration: .milliseconds(Int64(seconds * 1000)), maximumInFlight: maximumInFlight,
                                          sendDeadline: .milliseconds(Int64((plan.sendDeadlineSeconds ?? 1) * 1000)),
                                          windowSeconds: max(0.1, seconds / 120))
        return await generator.run(kind: { workload.kind($0).rawValue }, execute: { await workload.execute($0) })
    }

    private struct AgentCard: Decodable {
        var name: String?
        var version: String?
    }

    private func readAgentCard(_ http: LoadHTTPClient, into environment: inout RunEnvironment) async {
        let answer = await http.get(target.url("/.well-known/agent-card.json"))
        guard answer.failure == nil, answer.status == 200, let card = try? JSONDecoder().decode(AgentCard.self, from: Data(answer.body.readableBytesView)) else {
            progress("the agent card could not be read (status \(answer.status)); the target's version is unknown")
            return
        }
        environment.targetName = card.name
        environment.targetVersion = card.version
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
