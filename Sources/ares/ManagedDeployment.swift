import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The deployment `ares validate --manage` runs itself: this same `ares` binary as an
/// `ares serve` child process on a loopback port the system picks, over a fresh data directory
/// with a small corpus ingested and keys created for the run (read from the child's output,
/// never printed). Stopped with SIGTERM (SIGKILL after 30 s) and its data directory removed
/// when the run ends; its log is kept in the output directory.
final class ManagedDeployment: @unchecked Sendable {
    // @unchecked: `process` is only touched by the one task that runs the validation, in order
    // (start, then stop); the class exists so that `deinit` can stop a child left running.
    let dataDirectory: URL
    let logFile: URL
    private let process = Process()
    private(set) var baseURL: URL
    private(set) var adminKey = ""
    private(set) var loadKeys: [String] = []

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Prepares the data directory (ingest, keys) and starts the server; returns once it is ready.
    init(binary: URL, corpus: URL?, loadClients: Int, logFile: URL, extraArguments: [String], progress: (String) -> Void) throws {
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-validate-\(UUID().uuidString.lowercased())")
        self.logFile = logFile
        baseURL = URL(fileURLWithPath: "/")
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        let corpusPath = try corpus?.path ?? Self.writeFallbackCorpus(in: dataDirectory.appendingPathComponent("corpus")).path
        progress("managed deployment: ingesting \(corpusPath) into \(dataDirectory.path) ...")
        _ = try Self.run(binary, ["ingest", corpusPath, "--data-dir", dataDirectory.path], what: "ares ingest")
        adminKey = try Self.createKey(binary, role: "admin", name: "validate-admin", dataDirectory: dataDirectory)
        loadKeys = try (0..<max(1, loadClients)).map { try Self.createKey(binary, role: "researcher", name: "validate-load-\($0)", dataDirectory: dataDirectory) }
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let output = try FileHandle(forWritingTo: logFile)
        process.executableURL = binary
        process.arguments = ["serve", "--port", "0", "--host", "127.0.0.1", "--data-dir", dataDirectory.path] + extraArguments
        process.environment = Self.childEnvironment
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let port = Self.listeningPort(in: (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""),
               let url = URL(string: "http://127.0.0.1:\(port)") {
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

    /// SIGTERM, then SIGKILL if it has not exited within 30 s; then the data directory goes.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        try? FileManager.default.removeItem(at: dataDirectory)
    }

    /// The caller's environment without ARES_* settings: the managed deployment is the default
    /// embedded one, whatever the caller's shell configures.
    private static var childEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ARES_") }
    }

    private static func createKey(_ binary: URL, role: String, name: String, dataDirectory: URL) throws -> String {
        let key = try run(binary, ["keys", "create", "--role", role, "--name", name, "--data-dir", dataDirectory.path], what: "ares keys create")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty, !key.contains(where: \.isWhitespace) else { throw Failure(description: "ares keys create printed no key") }
        return key
    }

    /// Runs `ares` to its end and returns its standard output; a failure carries its standard
    /// error (which never holds a key: keys go to standard output only).
    private static func run(_ binary: URL, _ arguments: [String], what: String) throws -> String {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = childEnvironment
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
