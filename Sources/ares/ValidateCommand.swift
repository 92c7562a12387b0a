import ArgumentParser
import Foundation
import Validation

/// `ares validate`: runs a validation plan against a deployment and writes the Go/No-Go
/// package (report.json, report.md, report.html, raw histograms) into --out. Exit status 0
/// for GO, 2 for NO-GO, 1 when the run itself failed. Progress goes to standard error.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate a deployment: load, stress and soak phases, security and conformance probes, five gates, a Go/No-Go package.",
        discussion: """
            Against a running deployment: ares validate --target http://HOST:PORT --api-key-file KEY --out DIR
            Or let ares start its own embedded deployment on loopback for the run: ares validate --manage --out DIR
            Or N replicas on PostgreSQL (a cluster it starts, or yours): ares validate --manage --replicas 3 --database managed --out DIR
            Plans: seed (the review's plan: hours), quick (minutes), or a JSON file (docs/validation.md).
            --scale multiplies every duration (0.005 runs the seed plan in about ten minutes).
            Exit status: 0 GO, 2 NO-GO, 1 the run failed.
            """)

    @Option(help: "The deployment's base URL, e.g. http://127.0.0.1:8080 (not with --manage).")
    var target: String?

    @Option(help: "A file whose first line is an ares API key (sent as a bearer credential).")
    var apiKeyFile: String?

    @Option(help: "A file whose first line is an OAuth2 access token.")
    var tokenFile: String?

    @Option(help: "seed, quick, or the path of a JSON plan.")
    var plan = "quick"

    @Option(help: "Multiply every phase duration by this factor (0 < F ≤ 10); the report states it.")
    var scale = 1.0

    @Option(help: "The directory the package is written into (created if needed).")
    var out: String

    @Flag(help: "Start the deployment (ares serve on loopback, a fresh data directory) for the run and stop it afterwards.")
    var manage = false

    @Option(help: "With --manage: the documents to ingest (default ./docs if it exists, else a few built-in pages).")
    var corpus: String?

    @Option(help: "With --manage: how many orchestrators (researcher keys) the load is spread over.")
    var loadClients = 8

    @Option(help: "Seconds the final check waits for acknowledged tasks to end.")
    var taskLossDeadline = 120

    @Option(help: "With --manage: the seed of the random moments the chaos and restore phases kill the deployment at (default: a random one, stated in the report).")
    var chaosSeed: UInt64?

    @Option(help: "With --manage: how many `ares serve --database` replicas to run (1 to 16; above 1 needs --database). The load is spread round-robin over them; the failover and chaos phases kill some, and with --database managed the chaos and restore phases act on the cluster too.")
    var replicas = 1

    @Option(help: ArgumentHelp("With --manage: the PostgreSQL database the replicas share: 'managed' (a throwaway PostgreSQL 15 cluster the run starts on loopback) or postgres://USER@HOST:PORT/DB (its password from $ARES_DATABASE_PASSWORD_FILE; the run adds tables and tasks to it).", valueName: "managed|url"))
    var database: String?

    @Option(name: .customLong("serve-option"), parsing: .unconditionalSingleValue,
            help: ArgumentHelp("With --manage: one argument added to every `ares serve` the run starts (repeat it: --serve-option --rate-limits --serve-option off), so the run measures the configuration you deploy. Not the options the run sets itself (--host, --port, --data-dir, --database, --model-url, --tls-…); the report states them.", valueName: "arg"))
    var serveOptions: [String] = []

    @Flag(help: "Run only the plan's phases, not the security and conformance probes (to measure the load generator itself); the Security and Integration gates then fail for lack of evidence.")
    var skipProbes = false

    func validate() throws {
        guard scale.isFinite, scale > 0, scale <= 10 else { throw ValidationError("--scale: a factor above 0 and at most 10 (got \(scale))") }
        guard (1...64).contains(loadClients) else { throw ValidationError("--load-clients: between 1 and 64 (got \(loadClients))") }
        guard (1...86400).contains(taskLossDeadline) else { throw ValidationError("--task-loss-deadline: between 1 and 86400 seconds") }
        guard (1...16).contains(replicas) else { throw ValidationError("--replicas: between 1 and 16 (got \(replicas))") }
        if manage {
            if replicas > 1, database == nil {
                throw ValidationError("--replicas \(replicas): replicas share a PostgreSQL database; add --database managed (a cluster the run starts) or --database postgres://USER@HOST:PORT/DB")
            }
            if let database, database != "managed" {
                guard let url = URL(string: database), ["postgres", "postgresql"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
                    throw ValidationError("--database: 'managed' or a postgres://USER@HOST:PORT/DB URL")
                }
                guard url.password == nil else {
                    throw ValidationError("--database: the URL carries a password; put it in a file named by ARES_DATABASE_PASSWORD_FILE instead")
                }
            }
            if let refusal = ManagedServeOptions.refusal(serveOptions) { throw ValidationError(refusal) }
            guard target == nil, apiKeyFile == nil, tokenFile == nil else {
                throw ValidationError("--manage starts its own deployment and creates its keys: leave out --target, --api-key-file and --token-file")
            }
        } else {
            guard target != nil else { throw ValidationError("give --target URL (a running deployment), or --manage") }
            guard corpus == nil else { throw ValidationError("--corpus is for --manage") }
            guard chaosSeed == nil else { throw ValidationError("--chaos-seed is for --manage (only a managed deployment can be killed)") }
            guard replicas == 1, database == nil else { throw ValidationError("--replicas and --database are for --manage") }
            guard serveOptions.isEmpty else { throw ValidationError("--serve-option is for --manage (it configures the deployment the run starts)") }
            if apiKeyFile != nil, tokenFile != nil { throw ValidationError("give one of --api-key-file and --token-file") }
        }
    }

    func run() async throws {
        let plan: ValidationPlan
        do {
            plan = try ValidationPlan.named(self.plan)
        } catch let error as PlanError {
            throw ValidationError("--plan: \(error.description)")
        }
        let outDirectory = URL(fileURLWithPath: out)
        do {
            try FileManager.default.createDirectory(at: outDirectory, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("--out: cannot create \(out): \(error.localizedDescription)")
        }
        let progress: @Sendable (String) -> Void = { Console.note("validate: \($0)") }
        let report: ValidationReport
        do {
            if manage {
                report = try await runManaged(plan, out: outDirectory, progress: progress)
            } else {
                report = try await runAgainstTarget(plan, progress: progress)
            }
            try ReportPackage.write(report, to: outDirectory)
        } catch let error as ValidationError {
            throw error
        } catch {
            Console.error("validation failed: \(error)")
            throw ExitCode(1)
        }
        progress("\(report.decision.rawValue): " + report.gates.map { "\($0.gate) \($0.passed ? "pass" : "FAIL")" }.joined(separator: ", "))
        for gate in report.failedGates {
            for failure in gate.failures { progress("  \(gate.gate): \(failure.name): \(failure.measured) (needs \(failure.threshold))") }
        }
        progress("package written to \(outDirectory.path) (report.md, report.html, report.json, histograms/)")
        if report.decision == .noGo { throw ExitCode(2) }
    }

    private func runAgainstTarget(_ plan: ValidationPlan, progress: @escaping @Sendable (String) -> Void) async throws -> ValidationReport {
        guard let target, let url = URL(string: target), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
            throw ValidationError("--target: an http:// or https:// URL with a host (got '\(target ?? "")')")
        }
        let credential: ValidationTarget.Credential
        do {
            if let apiKeyFile {
                credential = .apiKey(try ValidationTarget.readCredential(fromFile: apiKeyFile))
            } else if let tokenFile {
                credential = .bearerToken(try ValidationTarget.readCredential(fromFile: tokenFile))
            } else {
                credential = .none
            }
        } catch let error as ValidationTargetError {
            throw ValidationError(error.description)
        }
        let validationTarget = ValidationTarget(baseURL: url, credential: credential)
        progress("validating \(validationTarget) with plan \(plan.name) at scale \(scale)")
        return await makeRun(plan, target: validationTarget, loadAuthorizations: validationTarget.authorizationHeader.map { [$0] } ?? [],
                             environment: environment(target: url.absoluteString, managed: nil), progress: progress).run()
    }

    private func runManaged(_ plan: ValidationPlan, out: URL, progress: @escaping @Sendable (String) -> Void) async throws -> ValidationReport {
        let corpusURL: URL? = corpus.map { URL(fileURLWithPath: $0) }
            ?? (FileManager.default.fileExists(atPath: "docs") ? URL(fileURLWithPath: "docs") : nil)
        // The database of a replicated deployment. A cluster the run cannot start (PostgreSQL not
        // installed) is not a failed run: the embedded deployment runs, and the failover phase
        // says why it did not.
        var shared: ManagedDeployment.Database?
        var databaseUnavailable: String?
        if database == "managed", let reason = ManagedPostgres.unavailableReason() {
            databaseUnavailable = "not run: no PostgreSQL for the replicas: \(reason)"
            progress("\(databaseUnavailable ?? ""); running the embedded deployment instead")
        } else if database == "managed" {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-validate-pg-\(UUID().uuidString.lowercased())")
            do {
                progress("starting a PostgreSQL 15 cluster for the replicas ...")
                let cluster = try ManagedPostgres.start(in: directory)
                shared = .init(url: cluster.url, passwordFile: cluster.passwordFile.path, cluster: cluster)
                progress("PostgreSQL listening on 127.0.0.1:\(cluster.port)")
            } catch {
                // Installed but not starting is a failed run, not a phase to skip.
                try? FileManager.default.removeItem(at: directory)
                throw error
            }
        } else if let database {
            shared = .init(url: database, passwordFile: ProcessInfo.processInfo.environment["ARES_DATABASE_PASSWORD_FILE"], cluster: nil)
        }
        let replicaCount = shared == nil ? 1 : replicas
        let deployment: ManagedDeployment
        do {
            deployment = try ManagedDeployment(binary: Self.executable, corpus: corpusURL, loadClients: loadClients,
                                               logFile: out.appendingPathComponent("deployment.log"), serveOptions: serveOptions,
                                               replicas: replicaCount, database: shared, progress: progress)
        } catch {
            shared?.cluster?.stop()
            throw error
        }
        defer { deployment.stop() }
        try await deployment.waitUntilReady(within: 120)
        let admin = ValidationTarget(baseURL: deployment.baseURL, credential: .apiKey(deployment.adminKey))
        progress("validating the managed deployment with plan \(plan.name) at scale \(scale)")
        let seed = chaosSeed ?? UInt64.random(in: 1...UInt64(UInt32.max))
        var managed: String
        let unsupported: @Sendable (PhaseKind) -> String
        if let shared {
            let location = shared.cluster.map { "a PostgreSQL 15 cluster the run started on 127.0.0.1:\($0.port)" } ?? "the PostgreSQL database given with --database"
            managed = "\(replicaCount) ares serve --database replica\(replicaCount == 1 ? "" : "s") started by ares validate --manage on \(location), 127.0.0.1, each with its own copy of the data directory (the knowledge base) and replica id; the load spread round-robin over them by the generator; \(loadClients) researcher keys for the load, an admin key for the probes (on the first replica); the chaos phase restarts every replica with a model endpoint behind a fault proxy, SIGKILLs replicas at random and moves PostgreSQL's files onto a filled filesystem, the restore phase SIGKILLs PostgreSQL and every replica and recovers the WAL archive into a new cluster (both need --database managed), the failover phase SIGKILLs replicas at random (seed \(seed))"
            let replicas = replicaCount
            unsupported = { kind in
                guard kind == .failover else { return ValidationRun.defaultUnsupportedReason(kind) }
                return "not run: failover needs at least 2 replicas (--replicas 2 or more); this run has \(replicas)"
            }
        } else {
            managed = "ares serve started by ares validate --manage: embedded defaults (SQLite, built-in agents), 127.0.0.1, \(loadClients) researcher keys for the load, an admin key for the probes; chaos and restore phases restart it with a model endpoint behind a fault proxy, on a filled filesystem and with --backup-to, and SIGKILL it; the failover phase SIGKILLs it with an `ares serve --standby` on the same data directory waiting to take over (seed \(seed))"
            let reason = databaseUnavailable
            unsupported = { kind in
                guard kind == .failover else { return ValidationRun.defaultUnsupportedReason(kind) }
                return reason ?? "not run: failover kills replicas on a shared PostgreSQL database; run with --manage --replicas 2 (or more) --database managed"
            }
        }
        if !serveOptions.isEmpty {
            managed += "; every ares serve started with \(serveOptions.joined(separator: " ")) (--serve-option)"
        }
        let actions = ManagedPhaseActions(deployment: deployment, seed: seed, taskDeadline: .seconds(taskLossDeadline))
        var run = makeRun(plan, target: admin, loadAuthorizations: deployment.loadKeys.map { "Bearer \($0)" },
                          environment: environment(target: deployment.baseURLs.map(\.absoluteString).joined(separator: ", "), managed: managed), progress: progress)
        run.phaseActions = actions.actions
        run.unsupportedReason = unsupported
        if replicaCount > 1 { run.balancer = ReplicaBalancer(replicas: deployment.baseURLs) }
        return await run.run()
    }

    private func makeRun(_ plan: ValidationPlan, target: ValidationTarget, loadAuthorizations: [String], environment: RunEnvironment,
                         progress: @escaping @Sendable (String) -> Void) -> ValidationRun {
        ValidationRun(plan: plan, scale: scale, target: target, loadAuthorizations: loadAuthorizations, environment: environment,
                      probes: skipProbes ? [] : [
                          { client in await SecurityProbe(target: target, client: client).run() },
                          { client in await ConformanceProbe(target: target, client: client).run() },
                      ],
                      taskLossDeadline: .seconds(taskLossDeadline), progress: progress)
    }

    private func environment(target: String, managed: String?) -> RunEnvironment {
        RunEnvironment(validatorVersion: AresVersion.current, validatorCommit: BuildInfo.commit, target: target, managed: managed)
    }

    /// This binary: the managed deployment runs the same build as the validator.
    static var executable: URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: CommandLine.arguments.first ?? "ares")
    }
}
