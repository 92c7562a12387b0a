import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The deployment `ares validate --manage` runs itself: this same `ares` binary as an
/// `ares serve` child process on a loopback port, over a fresh data directory with a small
/// corpus ingested and keys created for the run (read from the child's output, never printed).
/// The phases that act on it restart it (same port, other arguments or another data
/// directory), SIGKILL it, and restore it; everything it wrote lives under one work directory,
/// removed when the run ends. Its log (every start appended) is kept in the output directory.
final class ManagedDeployment: @unchecked Sendable {
    // @unchecked: the process and the data directory are only touched by the one task that
    // runs the validation, in order (start, the phases' restarts, stop); the class exists so
    // that `deinit` can stop a child left running.
    let binary: URL
    /// Holds the data directory, backups, restored copies and scratch filesystems of the run.
    let workDirectory: URL
    /// Where the running server keeps its data (phases move it: a full disk, a restore).
    var dataDirectory: URL
    let logFile: URL
    private var process = Process()
    private(set) var baseURL: URL
    /// The port the first start was given by the system; restarts listen on it again, so the
    /// load generator's target never changes.
    private(set) var port = 0
    private(set) var adminKey = ""
    private(set) var loadKeys: [String] = []

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Prepares the data directory (ingest, keys) and starts the server; returns once it is ready.
    init(binary: URL, corpus: URL?, loadClients: Int, logFile: URL, extraArguments: [String], progress: (String) -> Void) throws {
        self.binary = binary
        workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-validate-\(UUID().uuidString.lowercased())")
        dataDirectory = workDirectory.appendingPathComponent("data")
        self.logFile = logFile
        baseURL = URL(fileURLWithPath: "/")
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        let corpusPath = try corpus?.path ?? Self.writeFallbackCorpus(in: workDirectory.appendingPathComponent("corpus")).path
        progress("managed deployment: ingesting \(corpusPath) into \(dataDirectory.path) ...")
        _ = try runAres(["ingest", corpusPath, "--data-dir", dataDirectory.path], what: "ares ingest")
        adminKey = try createKey(role: "admin", name: "validate-admin")
        loadKeys = try (0..<max(1, loadClients)).map { try createKey(role: "researcher", name: "validate-load-\($0)") }
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        try start(port: 0, extraArguments: extraArguments)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let port = Self.listeningPort(in: (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""),
               let url = URL(string: "http://127.0.0.1:\(port)") {
                self.port = port
                baseURL = url
                progress("managed deployment: ares serve (pid \(process.processIdentifier)) listening on \(url.absoluteString), log \(logFile.path)")
                return
            }
            guard process.isRunning else {
                throw Failure(description: "the managed ares serve exited with status \(process.terminationStatus); its log is \(logFile.path)")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        stop()
        throw Failure(description: "the managed ares serve did not start listening within 60 s; its log is \(logFile.path)")
    }

    deinit { stop() }

    var isRunning: Bool { process.isRunning }
    var processIdentifier: Int32 { process.processIdentifier }

    /// Starts `ares serve` over the current data directory on the run's port (the first start:
    /// one the system picks), its output appended to the log. Does not wait for readiness.
    func start(extraArguments: [String]) throws {
        try start(port: port, extraArguments: extraArguments)
    }

    private func start(port: Int, extraArguments: [String]) throws {
        let output = try FileHandle(forWritingTo: logFile)
        try output.seekToEnd()
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--port", "\(port)", "--host", "127.0.0.1", "--data-dir", dataDirectory.path] + extraArguments
        process.environment = Self.childEnvironment
        process.standardOutput = output
        process.standardError = output
        try process.run()
        self.process = process
    }

    /// SIGKILL, as a machine or a pod is lost: no shutdown of any kind.
    func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then SIGKILL if it has not exited within 30 s.
    func terminate() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Stops the server; then everything the run wrote goes.
    func stop() {
        terminate()
        try? FileManager.default.removeItem(at: workDirectory)
    }

    /// Runs `ares ARGUMENTS` to its end: its exit status and its output (stdout and stderr in
    /// one pipe, so neither can fill up while the other is read). Not for commands that print keys.
    func runAresForStatus(_ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = Self.childEnvironment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do { try process.run() } catch { return (-1, "could not start ares: \(error)") }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The caller's environment without ARES_* settings: the managed deployment is the default
    /// embedded one, whatever the caller's shell configures.
    private static var childEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ARES_") }
    }

    private func createKey(role: String, name: String) throws -> String {
        let key = try runAres(["keys", "create", "--role", role, "--name", name, "--data-dir", dataDirectory.path], what: "ares keys create")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty, !key.contains(where: \.isWhitespace) else { throw Failure(description: "ares keys create printed no key") }
        return key
    }

    /// Runs `ares` to its end and returns its standard output; a failure carries its standard
    /// error (which never holds a key: keys go to standard output only).
    func runAres(_ arguments: [String], what: String) throws -> String {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = Self.childEnvironment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(what) failed with status \(process.terminationStatus): \(String(decoding: errData, as: UTF8.self).prefix(2000))")
        }
        return String(decoding: outData, as: UTF8.self)
    }

    private static func listeningPort(in log: String) -> Int? {
        for line in log.split(separator: "\n") where line.contains("\"msg\":\"listening\"") {
            guard let range = line.range(of: "://127.0.0.1:") else { continue }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        return nil
    }

    /// A few Markdown pages when no corpus is given and ./docs does not exist: enough for
    /// search and research tasks to have passages to cite.
    private static func writeFallbackCorpus(in directory: URL) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pages = [
            "backups.md": "# Backups\n\nA backup is a consistent copy of the data directory taken while the server runs. Restore it into a new directory and verify every hash chain before serving from it.\n",
            "keys.md": "# API keys\n\nKeys are created with a role: viewer, researcher or admin. Only a key's hash is stored; a revoked key is refused from the next request.\n",
            "tasks.md": "# Research tasks\n\nEvery task is a durable, hash-chained event stream. After a crash the server resumes unfinished tasks from their last recorded step.\n",
            "search.md": "# Search\n\nHybrid search combines keyword ranking (BM25) with vector similarity and merges both lists with reciprocal rank fusion.\n",
        ]
        for (name, text) in pages { try Data(text.utf8).write(to: directory.appendingPathComponent(name)) }
        return directory
    }
}
