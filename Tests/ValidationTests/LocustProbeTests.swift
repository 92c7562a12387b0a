import AresTestSupport
import Foundation
import Testing

/// validate/locustfile.py, run by Locust from PyPI (scripts/install-interop-clients.sh) headless
/// for a few seconds against a real `ares serve`: every request kind of the mix was made, and
/// none failed (a JSON-RPC error or an id that is not the request's counts as a failure).
@Suite struct LocustProbeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let locust = root.appendingPathComponent(".venv-interop/bin/locust")
    static let locustfile = root.appendingPathComponent("validate/locustfile.py")

    /// Runs Locust to its end (polling, so no thread of the test pool is held); status and output.
    private func runLocust(_ arguments: [String], environment extra: [String: String], in directory: URL) async throws -> (Int32, String) {
        guard FileManager.default.isExecutableFile(atPath: Self.locust.path) else {
            throw ProbeTestFailure("Locust is not installed at \(Self.locust.path): run scripts/install-interop-clients.sh (it pins locust==2.47.0)")
        }
        let output = directory.appendingPathComponent("locust-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        let process = Process()
        process.executableURL = Self.locust
        process.arguments = ["-f", Self.locustfile.path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "ARES_LOCUST_KEY_FILE")
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(90)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw ProbeTestFailure("Locust did not finish within 90 s: \((try? String(contentsOf: output, encoding: .utf8)) ?? "")")
        }
        try? handle.close()
        return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }

    @Test func locustDrivesTheValidateMixAgainstAresWithoutFailures() async throws {
        let server = try await ProbeAresServer.start()
        let directory = server.dataDirectory.appendingPathComponent("locust")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let keyFile = directory.appendingPathComponent("researcher.key")
        _ = FileManager.default.createFile(atPath: keyFile.path, contents: Data((try server.createKey(role: "researcher") + "\n").utf8),
                                       attributes: [.posixPermissions: 0o600])
        let csv = directory.appendingPathComponent("ares").path
        let (status, output) = try await runLocust(
            ["--headless", "-u", "5", "-r", "5", "-t", "5s", "--host", server.baseURL.absoluteString, "--csv", csv, "--only-summary"],
            environment: ["ARES_LOCUST_KEY_FILE": keyFile.path], in: directory)
        #expect(status == 0, "locust exited with \(status):\n\(output.suffix(3000))")
        let table = try String(contentsOfFile: csv + "_stats.csv", encoding: .utf8)
        var rows: [String: (requests: Int, failures: Int)] = [:]
        for line in table.split(whereSeparator: \.isNewline).dropFirst() {  // the csv module ends lines with CR LF
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count > 3, let requests = Int(fields[2]), let failures = Int(fields[3]) else { continue }
            rows[fields[1].isEmpty ? "Aggregated" : fields[1]] = (requests, failures)
        }
        for name in ["SendMessage", "GetTask", "ListTasks", "agent card", "ares/search"] {
            #expect((rows[name]?.requests ?? 0) > 0, "no \(name) request was made: \(table)")
        }
        #expect((rows["research task (TASK_STATE_COMPLETED)"]?.requests ?? 0) > 0, "no task was polled to its end: \(table)")
        #expect(rows["Aggregated"]?.failures == 0, "failures were recorded:\n\(table)\n\(output.suffix(2000))")
        #expect(server.isRunning)
    }

    @Test func locustStopsAtOnceWithoutACredentialFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-locust-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (status, output) = try await runLocust(["--headless", "-u", "1", "-r", "1", "-t", "2s", "--host", "http://127.0.0.1:9"],
                                                   environment: [:], in: directory)
        #expect(status != 0)
        #expect(output.contains("ARES_LOCUST_KEY_FILE"), "\(output.suffix(2000))")
    }
}
