import AresTestSupport
import AsyncHTTPClient
import Foundation
@testable import Validation

/// A real `ares serve` for the probe tests: its own data directory with the project's docs
/// ingested, an admin key made with `ares keys create`, a loopback port the system chose.
final class ProbeAresServer: @unchecked Sendable {
    let dataDirectory: URL
    let adminKey: String
    private let process = Process()
    private let logFile: URL
    private(set) var port = 0

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)") ?? URL(fileURLWithPath: "/") }

    init(arguments: [String] = []) throws {
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-probe-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs")
        let ingest = try AresProcess.run(["ingest", docs.path, "--data-dir", dataDirectory.path])
        guard ingest.status == 0 else { throw ProbeTestFailure("ingest failed: \(ingest.stderr)") }
        adminKey = try Self.createKey(role: "admin", in: dataDirectory)
        let logName = "probe-serve-\(UUID().uuidString).log"
        logFile = TestRunRecord.logFile(named: logName, fallback: dataDirectory.appendingPathComponent(logName))
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.executableURL = AresProcess.binary
        process.arguments = ["serve", "--port", "0", "--data-dir", dataDirectory.path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "ARES_DATA_DIR")
        process.environment = environment
        let output = try FileHandle(forWritingTo: logFile)
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let port = Self.listeningPort(in: log()) {
                self.port = port
                return
            }
            if !process.isRunning { throw ProbeTestFailure("ares serve exited with \(process.terminationStatus): \(log())") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        stop()
        throw ProbeTestFailure("ares serve did not start within 30 s: \(log())")
    }

    deinit { stop() }

    /// Starts one on a thread of its own: the ingest, the key and the wait for the port block
    /// for seconds, and on a cooperative thread (two on this machine) they would starve the
    /// fault proxies and clients of the tests running beside it (a probe once found its target
    /// silent for 30 s that way).
    static func start(arguments: [String] = []) async throws -> ProbeAresServer {
        try await BlockingWork.run { try ProbeAresServer(arguments: arguments) }
    }

    static func createKey(role: String, in directory: URL) throws -> String {
        let outcome = try AresProcess.run(["keys", "create", "--role", role, "--name", "probe-test-\(role)", "--data-dir", directory.path])
        guard outcome.status == 0 else { throw ProbeTestFailure("keys create failed: \(outcome.stderr)") }
        return outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func createKey(role: String) throws -> String { try Self.createKey(role: role, in: dataDirectory) }

    var isRunning: Bool { process.isRunning }

    func log() -> String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    private static func listeningPort(in log: String) -> Int? {
        for line in log.split(separator: "\n") where line.contains("\"msg\":\"listening\"") {
            guard let range = line.range(of: "://127.0.0.1:") else { continue }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        return nil
    }
}

struct ProbeTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` with an HTTP client that is shut down afterwards, whatever happens.
func withProbeClient<T: Sendable>(_ body: (HTTPClient) async throws -> T) async throws -> T {
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// Keeps a probe report for the secret-leak check of the run (scripts/check-secret-leaks.py).
func recordForLeakCheck(_ report: ProbeReport, name: String) {
    guard let directory = TestRunRecord.directory, let data = try? JSONEncoder().encode(report) else { return }
    try? data.write(to: directory.appendingPathComponent("probe-\(name)-\(UUID().uuidString).json"))
}
