import AresTestSupport
import Foundation
import Testing
@testable import Validation

/// `ares validate` end to end: the real binary starts its own deployment (`--manage`), runs the
/// quick plan at a small scale against it and writes the package.
@Suite(.serialized) struct ValidateCommandTests {
    @Test func manageRunsTheQuickPlanAndWritesThePackage() async throws {
        // In an empty working directory there is no ./docs: the managed deployment ingests its
        // few built-in pages, which keeps the test short.
        let workingDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("validate-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workingDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workingDirectory) }
        let out = workingDirectory.appendingPathComponent("package")
        let outcome = try await AresProcess.run(["validate", "--manage", "--plan", "quick", "--scale", "0.03", "--out", out.path,
                                           "--task-loss-deadline", "30", "--serve-option", "--max-queued-tasks", "--serve-option=5000"],
                                          in: workingDirectory)
        #expect(outcome.status == 0 || outcome.status == 2, "exit \(outcome.status): \(outcome.stderr)")
        for file in ["report.json", "report.md", "report.html", "histograms/load-50.hgrm", "histograms/load-100.hgrm", "histograms/soak-100.hgrm"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file) is missing")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let report = try decoder.decode(ValidationReport.self, from: Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(report.scale == 0.03)
        #expect(report.plan.name == "quick")
        #expect(report.environment.targetVersion != nil, "the managed server's agent card names its version")
        #expect(report.environment.managed?.contains("--max-queued-tasks 5000 (--serve-option)") == true, "\(report.environment.managed ?? "")")
        #expect(report.phases.count == 4 && report.phases.allSatisfy { $0.status == .ran })
        // The exit status says the decision.
        #expect(outcome.status == (report.decision == .go ? 0 : 2))
        // The gates this run can decide on its own measurements: the embedded deployment loses
        // no acknowledged task, its chains verify, and every phase ran.
        let reliability = try #require(report.gates.first { $0.gate == "Reliability" })
        let loss = try #require(report.taskLoss)
        #expect(loss.acknowledged > 0)
        #expect(loss.lost == 0, "lost: \(loss.lostExamples)")
        #expect(loss.chainsChecked > 0 && loss.chainsBroken == 0)
        #expect(reliability.measurements.contains { $0.name.hasPrefix("acknowledged tasks lost") && $0.passed })
        #expect(report.gates.first { $0.gate == "Testing" }?.passed == true)
        #expect(!report.serverMetrics.isEmpty, "/metrics was scraped during the run")
        #expect(outcome.stderr.contains("validate: load-50"), "progress goes to standard error")
        // The managed deployment is gone: the data directory it announced was removed.
        let announced = try #require(outcome.stderr.range(of: #"into (/\S*ares-validate-[0-9a-f-]+)"#, options: .regularExpression))
        let dataDirectory = outcome.stderr[announced].dropFirst("into ".count)
        #expect(!FileManager.default.fileExists(atPath: String(dataDirectory)), "\(dataDirectory) is left behind")
    }

    @Test func badArgumentsAreRefusedWithWhatWasWrong() async throws {
        let noTarget = try await AresProcess.run(["validate", "--out", "/tmp/never"])
        #expect(noTarget.status != 0 && noTarget.stderr.contains("--target"))
        let badScale = try await AresProcess.run(["validate", "--manage", "--scale", "0", "--out", "/tmp/never"])
        #expect(badScale.status != 0 && badScale.stderr.contains("--scale"))
        let badPlan = try await AresProcess.run(["validate", "--target", "http://127.0.0.1:1", "--plan", "/nonexistent.json", "--out", "/tmp/never"])
        #expect(badPlan.status != 0 && badPlan.stderr.contains("neither a built-in plan"))
        let unreachable = try await AresProcess.run(["validate", "--target", "ftp://x", "--out", "/tmp/never"])
        #expect(unreachable.status != 0 && unreachable.stderr.contains("--target"))
        // Serve options: not what the managed deployment sets itself, and only with --manage.
        let port = try await AresProcess.run(["validate", "--manage", "--serve-option", "--port", "--serve-option", "9", "--out", "/tmp/never"])
        #expect(port.status != 0 && port.stderr.contains("--serve-option --port: not with --manage"), "\(port.stderr)")
        let tls = try await AresProcess.run(["validate", "--manage", "--serve-option=--tls-cert=/tmp/cert.pem", "--out", "/tmp/never"])
        #expect(tls.status != 0 && tls.stderr.contains("--serve-option --tls-cert"), "\(tls.stderr)")
        let unmanaged = try await AresProcess.run(["validate", "--target", "http://127.0.0.1:1", "--serve-option", "--log-level", "--out", "/tmp/never"])
        #expect(unmanaged.status != 0 && unmanaged.stderr.contains("--serve-option is for --manage"), "\(unmanaged.stderr)")
    }

    /// A serve option reaches the servers the run starts: one that `ares serve` refuses stops
    /// the run at once, with serve's own words.
    @Test func aServeOptionReachesTheManagedServer() async throws {
        let workingDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("validate-serve-option-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workingDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workingDirectory) }
        let out = workingDirectory.appendingPathComponent("package")
        let refused = try await AresProcess.run(["validate", "--manage", "--plan", "quick", "--scale", "0.03", "--out", out.path,
                                           "--serve-option", "--max-running-tasks", "--serve-option", "0"], in: workingDirectory)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("the managed ares serve exited with status"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--max-running-tasks"), "serve's own refusal is quoted: \(refused.stderr)")
    }
}
