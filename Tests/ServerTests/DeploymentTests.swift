import AresTestSupport
import Foundation
import Testing

/// What ships in deploy/ (issue 14), checked by the real tools: promtool for the alert rules, a
/// real Prometheus scraping a real `ares serve` for every rule and dashboard query, kubectl and
/// kubernetes-validate for the manifests (plus the security policy), cyclonedx-python-lib for the
/// SBOM, buildah and podman for the image. The checks themselves are scripts in deploy/checks/
/// that an operator can run by hand; these tests run them and read their verdicts. A missing tool
/// fails the test with the command that installs it (.ci/run installs them all).
@Suite(.serialized) struct DeploymentTests {
    static var repository: URL { InteropTests.repository }

    static func path(_ relative: String) -> String { repository.appendingPathComponent(relative).path }

    @Test func alertRulesPassPromtoolCheckAndTheirUnitTests() throws {
        let check = try DeploymentCheck.run("promtool", ["check", "rules", Self.path("deploy/prometheus/recording-rules.yml"),
                                                         Self.path("deploy/prometheus/alert-rules.yml")], install: "prometheus")
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("SUCCESS: 15 rules found"), "\(check.output)")
        #expect(check.output.contains("SUCCESS: 16 rules found"), "\(check.output)")
        let test = try DeploymentCheck.run("promtool", ["test", "rules", Self.path("deploy/prometheus/tests/alert-rules-test.yml")],
                                           install: "prometheus")
        #expect(test.status == 0, "\(test.output)")
        #expect(test.output.contains("SUCCESS"), "\(test.output)")
    }

    /// The example Prometheus configuration is valid for promtool. promtool opens the key and CA
    /// files it names, so the check runs on a copy whose secret paths point at files made here.
    @Test func thePrometheusExampleConfigurationPassesPromtool() throws {
        let pki = try TestPKI()
        let directory = pki.directory
        let example = try String(contentsOfFile: Self.path("deploy/prometheus/prometheus-example.yml"), encoding: .utf8)
        #expect(example.contains("/etc/prometheus/secrets/ares/api-key") && example.contains("/etc/prometheus/secrets/ares/ca.crt"))
        try example.replacingOccurrences(of: "/etc/prometheus/secrets/ares/", with: directory.path + "/")
            .write(to: directory.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
        for rules in ["recording-rules.yml", "alert-rules.yml"] {
            try FileManager.default.copyItem(atPath: Self.path("deploy/prometheus/\(rules)"), toPath: directory.appendingPathComponent(rules).path)
        }
        try Data("not-a-real-key".utf8).write(to: directory.appendingPathComponent("api-key"))
        try FileManager.default.copyItem(atPath: pki.path("ca.pem"), toPath: directory.appendingPathComponent("ca.crt").path)
        let check = try DeploymentCheck.run("promtool", ["check", "config", directory.appendingPathComponent("prometheus.yml").path], install: "prometheus")
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("is valid prometheus config file syntax"), "\(check.output)")
    }

    /// Every alert has a unit test that expects it to fire, and a runbook that exists.
    @Test func everyAlertHasAFiringUnitTestAndARunbook() throws {
        let rules = try String(contentsOfFile: Self.path("deploy/prometheus/alert-rules.yml"), encoding: .utf8)
        let tests = try String(contentsOfFile: Self.path("deploy/prometheus/tests/alert-rules-test.yml"), encoding: .utf8)
        let alerts = rules.split(separator: "\n").compactMap { line -> String? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed.hasPrefix("- alert: ") ? String(trimmed.dropFirst("- alert: ".count)) : nil
        }
        #expect(alerts.count == 16, "\(alerts)")
        let testLines = tests.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for alert in alerts {
            // A firing expectation: the alertname line followed (next line) by non-empty exp_alerts.
            let firing = testLines.indices.contains { index in
                testLines[index] == "alertname: \(alert)" && index + 1 < testLines.count && testLines[index + 1] == "exp_alerts:"
            }
            #expect(firing, "no unit test expects \(alert) to fire")
        }
        let runbooks = rules.split(separator: "\n").compactMap { line -> String? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed.hasPrefix("runbook_url: ") ? String(trimmed.dropFirst("runbook_url: ".count)) : nil
        }
        #expect(runbooks.count == alerts.count, "every alert names a runbook")
        for runbook in Set(runbooks) {
            #expect(FileManager.default.fileExists(atPath: Self.path(runbook)), "missing runbook \(runbook)")
        }
    }

    /// A real Prometheus scrapes a real ares over TLS with an API key from a file, evaluates the
    /// rules, and every rule and dashboard query returns data.
    @Test func aRealPrometheusScrapingAresGetsDataForEveryRuleAndDashboardQuery() throws {
        let pki = try TestPKI()
        try pki.makeServerCertificate("server", serial: "5A01")
        let data = try ServerProcess.makeDataDirectory()
        let key = try ServerProcess.createKey(role: "researcher", in: data, name: "prometheus")
        let keyFile = pki.directory.appendingPathComponent("prometheus.key")
        try Data(key.utf8).write(to: keyFile)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyFile.path)
        // Continuous backup on, so that the backup shipping series (and their alerts) exist.
        let backup = pki.directory.appendingPathComponent("backup")
        let server = try ServerProcess(dataDirectory: data, arguments: ["--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server.key"),
                                                                        "--backup-to", backup.path])
        defer { server.stop() }
        let outcome = try DeploymentCheck.python([Self.path("deploy/checks/check_prometheus_queries.py"), "--ares-url", "https://127.0.0.1:\(server.port)",
                                                  "--api-key-file", keyFile.path, "--ca-file", pki.path("ca.pem")], timeout: 120)
        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(outcome.output.contains(" fail=0"), "\(outcome.output)")
        // The certificate expiry gauge exists only under TLS: its alert and panel must have been checked.
        #expect(outcome.output.contains("PASS alert expression AresTLSCertificateExpiresSoon"), "\(outcome.output)")
        #expect(outcome.output.contains("PASS dashboard 'TLS certificate expires in (TLS only)'"), "\(outcome.output)")
        #expect(outcome.output.contains("PASS dashboard 'CPU (cores used)'"), "\(outcome.output)")
        // Backup shipping (only with --backup-to) and the storage gauges (SQLite store).
        for alert in ["AresBackupShippingLagging", "AresBackupShippingFailing", "AresStorageNotWritable", "AresStorageFillsWithin24h"] {
            #expect(outcome.output.contains("PASS alert expression \(alert)"), "\(outcome.output)")
        }
    }

    @Test func kubernetesManifestsRenderValidateAgainstKubernetes128AndMeetTheSecurityPolicy() throws {
        let outcome = try DeploymentCheck.python([Self.path("deploy/checks/check_k8s_manifests.py"), "--ares-binary", ServerProcess.binary.path],
                                                 timeout: 180)
        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(outcome.output.contains(" fail=0"), "\(outcome.output)")
        for line in ["PASS embedded: security policy", "PASS postgres: security policy",
                     "PASS embedded: the policy reports every deliberate break", "PASS embedded: Deployment/ares is valid Kubernetes 1.28",
                     "PASS embedded: ares accepts the ConfigMap and every ARES_* variable"] {
            #expect(outcome.output.contains(line), "\(line) missing:\n\(outcome.output)")
        }
    }

    @Test func theSBOMIsValidCycloneDXAndListsEverySwiftPackageAndDebianLibrary() throws {
        let outcome = try DeploymentCheck.python([Self.path("deploy/checks/check_sbom.py"), "--binary", ServerProcess.binary.path], timeout: 300)
        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(outcome.output.contains("PASS valid CycloneDX 1.6 JSON (strict schema)"), "\(outcome.output)")
        #expect(outcome.output.contains("PASS Debian package libsqlite3-0"), "\(outcome.output)")
        #expect(outcome.output.contains(" fail=0"), "\(outcome.output)")
    }

    /// `ares version --json` names this checkout's commit and the versions Package.resolved pins.
    @Test func versionJSONReportsTheCommitBuildAndResolvedDependencies() throws {
        let outcome = try ServerProcess.ares(["version", "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(report["version"] as? String == "0.4.0")
        let build = try #require(report["build"] as? [String: Any])
        #expect(["debug", "release"].contains(build["configuration"] as? String ?? ""))
        #expect(["static", "shared"].contains(build["swiftRuntime"] as? String ?? ""))
        let head = try DeploymentCheck.run("git", ["-C", Self.repository.path, "rev-parse", "HEAD"], install: "git")
        if head.status == 0 {
            #expect(report["commit"] as? String == head.output.trimmingCharacters(in: .whitespacesAndNewlines),
                    "the binary reports another commit than HEAD: rebuild (swift build) after committing")
        }
        let resolved = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.repository.appendingPathComponent("Package.resolved"))) as? [String: Any]
        let pins = (resolved?["pins"] as? [[String: Any]]) ?? []
        let dependencies = (report["dependencies"] as? [[String: Any]]) ?? []
        #expect(!pins.isEmpty && dependencies.count == pins.count, "\(dependencies.count) dependencies reported, \(pins.count) pinned")
        for pin in pins {
            let identity = pin["identity"] as? String ?? ""
            let version = (pin["state"] as? [String: Any])?["version"] as? String
            #expect(dependencies.contains { $0["name"] as? String == identity && $0["version"] as? String == version },
                    "\(identity) \(version ?? "?") is not reported")
        }
    }

    /// The runtime stage of deploy/container/Containerfile, built from scratch with this machine's
    /// binary and its libraries, runs `ares --version` and `ares demo` read-only, without
    /// capabilities, as a non-root user, and has no shell.
    @Test func theContainerImageRunsVersionAndDemoWithoutAShellOrRoot() throws {
        let outcome = try DeploymentCheck.run("bash", [Self.path("deploy/checks/build_local_image.sh"), ServerProcess.binary.path],
                                              install: "bash", timeout: 600)
        #expect(outcome.status == 0, "\(outcome.output)")
        for line in ["PASS ares --version", "PASS ares demo researched a cited answer in the container", "PASS the image has no shell",
                     "PASS runs as 10001:10001"] {
            #expect(outcome.output.contains(line), "\(line) missing:\n\(outcome.output)")
        }
    }
}

/// Runs one deploy/checks tool to its end with a deadline; output and errors together.
enum DeploymentCheck {
    struct Outcome {
        var status: Int32
        var output: String
    }

    static func python(_ arguments: [String], timeout: TimeInterval) throws -> Outcome {
        try run(try InteropTests.python(), arguments, install: "python3-venv (then bash scripts/install-interop-clients.sh)", timeout: timeout)
    }

    /// `tool` is a path or a name looked up in /usr/bin, /usr/local/bin, /bin, /usr/sbin.
    static func run(_ tool: String, _ arguments: [String], install: String, timeout: TimeInterval = 120) throws -> Outcome {
        let candidates = tool.hasPrefix("/") ? [tool] : ["/usr/bin/\(tool)", "/usr/local/bin/\(tool)", "/bin/\(tool)", "/usr/sbin/\(tool)"]
        guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ServerProcess.Failure("\(tool) is not installed: the deployment tests need it (Debian: apt-get install -y \(install))")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let killer = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        killer.cancel()
        TestRunRecord.recordOutput(arguments: [tool] + arguments, stdout: output, stderr: "")
        return Outcome(status: process.terminationStatus, output: output)
    }
}
