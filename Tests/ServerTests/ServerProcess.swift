import AresTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `ares serve` child process on a loopback port chosen by the system, over a data
/// directory of its own with the project's docs ingested. Keys are created at run time.
/// With `ARES_TEST_BACKEND=postgres` (`TestBackend`) each data directory `makeDataDirectory`
/// makes has a fresh PostgreSQL database of its own, and every `ares` run on it (`serve`,
/// `ares(...)` with its `--data-dir`) is pointed at that database: `serve --database`.
final class ServerProcess: @unchecked Sendable {
    let dataDirectory: URL
    let process = Process()
    private let logFile: URL
    private(set) var port = 0

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// A data directory with `docs/` ingested, shared by several server starts. On PostgreSQL
    /// the knowledge base is in the directory's database: a copy of one `ares ingest` filled.
    static func makeDataDirectory() async throws -> URL {
        try await BlockingWork.run { try makeDataDirectory() }
    }

    static func makeDataDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-server-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // On PostgreSQL a copy of a database the docs were ingested into once (TestBackend).
        if try TestBackend.current().provisionIngested(dataDirectory: directory, documents: docsFolder) { return directory }
        let ingest = try ares(["ingest", docsFolder.path, "--data-dir", directory.path])
        guard ingest.status == 0 else { throw Failure("ingest failed: \(ingest.stderr)") }
        return directory
    }

    static var docsFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs")
    }

    /// Creates an API key with `role` and returns its text.
    static func createKey(role: String, in directory: URL, name: String = "test") async throws -> String {
        try await BlockingWork.run { try createKey(role: role, in: directory, name: name) }
    }

    static func createKey(role: String, in directory: URL, name: String = "test") throws -> String {
        let outcome = try ares(["keys", "create", "--role", role, "--name", name, "--data-dir", directory.path])
        guard outcome.status == 0 else { throw Failure("keys create failed: \(outcome.stderr)") }
        return outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `logDirectory`: where the log goes when the run keeps no outputs (default: the data
    /// directory; a test that fills the data directory's file system keeps it elsewhere).
    /// `environment`: variables added to this process's own (a database URL and password file).
    /// Starts the server and waits until it listens (polling its log: from an async function,
    /// which the compiler picks there, without holding a thread of the cooperative pool).
    convenience init(dataDirectory: URL, arguments: [String] = [], logDirectory: URL? = nil, environment extra: [String: String] = [:]) async throws {
        try self.init(launching: dataDirectory, arguments: arguments, logDirectory: logDirectory, environment: extra)
        while let wait = try startState() { try await Task.sleep(for: .milliseconds(Int64(wait * 1000))) }
    }

    /// The same from synchronous code.
    convenience init(dataDirectory: URL, arguments: [String] = [], logDirectory: URL? = nil, environment extra: [String: String] = [:]) throws {
        try self.init(launching: dataDirectory, arguments: arguments, logDirectory: logDirectory, environment: extra)
        while let wait = try startState() { Thread.sleep(forTimeInterval: wait) }
    }

    private let waitsForDatabase: Bool
    private let startDeadline: Date
    private let startLimit: Double

    private init(launching dataDirectory: URL, arguments: [String], logDirectory: URL?, environment extra: [String: String]) throws {
        self.dataDirectory = dataDirectory
        let logName = "serve-\(UUID().uuidString).log"
        logFile = TestRunRecord.logFile(named: logName, fallback: (logDirectory ?? dataDirectory).appendingPathComponent(logName))
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.executableURL = Self.binary
        process.arguments = ["serve", "--port", "0", "--data-dir", dataDirectory.path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "ARES_DATA_DIR")
        // The data directory's database on PostgreSQL; a test's own environment wins.
        let backendEnvironment = TestBackend.environment(forDataDirectory: dataDirectory)
        for (key, value) in backendEnvironment { environment[key] = value }
        for (key, value) in extra { environment[key] = value }
        // On a database the server listens before it is ready (it loads the keys, the knowledge
        // base's indexes and unfinished tasks beside the HTTP server, so an orchestrator sees a
        // live process that says why it is not ready): a test written for the embedded store,
        // which is ready when it listens, starts once "database ready" is logged. A test that
        // brings its own database (`environment`) decides itself what to wait for.
        waitsForDatabase = !backendEnvironment.isEmpty && extra["ARES_DATABASE_URL"] == nil
        process.environment = environment
        let output = try FileHandle(forWritingTo: logFile)
        process.standardOutput = output
        process.standardError = output
        // Loading the shared knowledge base's indexes from the database takes longer than opening
        // a data directory, and the machine may be loaded: room, not a bound under test.
        startLimit = waitsForDatabase ? 90 : 30
        startDeadline = Date().addingTimeInterval(startLimit)
        try process.run()
    }

    /// nil once the server listens (and, on a test database, is ready), else the seconds to
    /// wait before asking again; throws when it exited or did not start in time.
    private func startState() throws -> Double? {
        let text = log()
        if let port = Self.listeningPort(in: text), !waitsForDatabase || text.contains("\"msg\":\"database ready\"") {
            self.port = port
            return nil
        }
        if !process.isRunning { throw Failure("ares serve exited with \(process.terminationStatus): \(log())") }
        guard Date() < startDeadline else {
            stop()
            throw Failure("ares serve did not start\(waitsForDatabase ? " (listening, database ready)" : "") within \(Int(startLimit)) s: \(log())")
        }
        return 0.05
    }

    deinit { stop() }

    func log() -> String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// The server's resident memory (VmRSS) in MB, read from /proc.
    func residentMegabytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kilobytes / 1024
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Sends SIGTERM and waits for the process to exit (at most `timeout`); returns its status.
    /// From an async function (which the compiler picks there), polling without holding a
    /// thread of the cooperative pool.
    func terminate(timeout: TimeInterval = 30) async -> Int32? {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func terminate(timeout: TimeInterval = 30) -> Int32? {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return process.isRunning ? nil : process.terminationStatus
    }

    private static func listeningPort(in log: String) -> Int? {
        for line in log.split(separator: "\n") where line.contains("\"msg\":\"listening\"") {
            // http:// or https:// (a TLS server).
            guard let range = line.range(of: "://127.0.0.1:") else { continue }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        return nil
    }

    // MARK: HTTP

    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else { throw Failure("not a JSON object: \(text)") }
            return object
        }
        func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }
    }

    func request(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> Reply {
        guard let url = URL(string: baseURL + path) else { throw Failure("bad path \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = 60
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw Failure("not an HTTP response") }
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields { fields["\(key)"] = "\(value)" }
        // Error messages and metrics are searched for secrets after the run (TestRunRecord).
        let isError = http.statusCode >= 400 || data.range(of: Data("\"error\"".utf8)) != nil
        if isError || path.hasPrefix("/metrics"), let directory = TestRunRecord.directory {
            try? data.write(to: directory.appendingPathComponent("reply-\(UUID().uuidString)-\(http.statusCode).body"))
        }
        return Reply(status: http.statusCode, headers: fields, body: data)
    }

    /// A JSON-RPC call to /a2a with `A2A-Version: 1.0` and, if given, a bearer key.
    func rpc(_ method: String, params: Any? = nil, key: String?, id: Any = 1, version: String? = "1.0") async throws -> Reply {
        var message: [String: Any] = ["jsonrpc": "2.0", "id": id, "method": method]
        if let params { message["params"] = params }
        var headers = ["Content-Type": "application/json"]
        if let version { headers["A2A-Version"] = version }
        if let key { headers["Authorization"] = "Bearer \(key)" }
        return try await request("POST", "/a2a", body: try JSONSerialization.data(withJSONObject: message), headers: headers)
    }

    // MARK: The binary

    static var binary: URL { AresProcess.binary }

    /// Runs `ares`; on PostgreSQL, with the database of the data directory after `--data-dir`
    /// (a test's own `environment` wins).
    static func ares(_ arguments: [String], environment: [String: String] = [:]) throws -> AresProcess.Outcome {
        try AresProcess.run(arguments, environment: TestBackend.environment(forArguments: arguments).merging(environment) { $1 })
    }

    /// The same from an async function (which the compiler picks there), the wait on a thread of
    /// its own (`AresProcess.run`).
    static func ares(_ arguments: [String], environment: [String: String] = [:]) async throws -> AresProcess.Outcome {
        try await AresProcess.run(arguments, environment: TestBackend.environment(forArguments: arguments).merging(environment) { $1 })
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// Digs into decoded JSON: `value(json, "result", "task", "status", "state")`.
func value(_ json: Any?, _ path: String...) -> Any? {
    var current = json
    for key in path {
        if let index = Int(key), let array = current as? [Any] {
            current = index < array.count ? array[index] : nil
        } else {
            current = (current as? [String: Any])?[key]
        }
    }
    return current
}
