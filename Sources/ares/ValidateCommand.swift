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

    @Flag(help: "Run only the plan's phases, not the security and conformance probes (to measure the load generator itself); the Security and Integration gates then fail for lack of evidence.")
    var skipProbes = false

    func validate() throws {
        guard scale.isFinite, scale > 0, scale <= 10 else { throw ValidationError("--scale: a factor above 0 and at most 10 (got \(scale))") }
        guard (1...64).contains(loadClients) else { throw ValidationError("--load-clients: between 1 and 64 (got \(loadClients))") }
        guard (1...86400).contains(taskLossDeadline) else { throw ValidationError("--task-loss-deadline: between 1 and 86400 seconds") }
        if manage {
            guard target == nil, apiKeyFile == nil, tokenFile == nil else {
                throw ValidationError("--manage starts its own deployment and creates its keys: leave out --target, --api-key-file and --token-file")
            }
        } else {
            guard target != nil else { throw ValidationError("give --target URL (a running deployment), or --manage") }
            guard corpus == nil else { throw ValidationError("--corpus is for --manage") }
            guard chaosSeed == nil else { throw ValidationError("--chaos-seed is for --manage (only a managed deployment can be killed)") }
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
        let deployment = try ManagedDeployment(binary: Self.executable, corpus: corpusURL, loadClients: loadClients,
                                               logFile: out.appendingPathComponent("deployment.log"), extraArguments: [], progress: progress)
        defer { deployment.stop() }
        let admin = ValidationTarget(baseURL: deployment.baseURL, credential: .apiKey(deployment.adminKey))
        progress("validating the managed deployment with plan \(plan.name) at scale \(scale)")
        let seed = chaosSeed ?? UInt64.random(in: 1...UInt64(UInt32.max))
        let managed = "ares serve started by ares validate --manage: embedded defaults (SQLite, built-in agents), 127.0.0.1, \(loadClients) researcher keys for the load, an admin key for the probes; chaos and restore phases restart it with a model endpoint behind a fault proxy, on a filled filesystem and with --backup-to, and SIGKILL it (seed \(seed))"
        let actions = ManagedPhaseActions(deployment: deployment, seed: seed, taskDeadline: .seconds(taskLossDeadline))
        var run = makeRun(plan, target: admin, loadAuthorizations: deployment.loadKeys.map { "Bearer \($0)" },
                          environment: environment(target: deployment.baseURL.absoluteString, managed: managed), progress: progress)
        run.phaseActions = actions.actions
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
