import Foundation
import Resilience
import Synchronization

/// A throwaway PostgreSQL 15 cluster for tests (issue 16): its own data folder, free port and
/// private socket folder, TCP on 127.0.0.1 with scram-sha-256, fsync on, a role `ares` with a
/// password generated at run time and a database `ares` it owns. Started and stopped by
/// scripts/postgres-test-cluster.sh, the same script the benchmarks use, so there is one way a
/// cluster is made. The password is registered with `TestRunRecord`, so the secret-leak check
/// fails the run if ares ever prints or logs it.
public final class TestPostgresCluster: Sendable {
    public let directory: URL
    public let port: Int
    public let password: String
    public let passwordFile: URL
    public let user = "ares"
    public let database = "ares"

    /// `postgres://ares@127.0.0.1:PORT/DATABASE?sslmode=disable`: no password in it.
    public func url(database: String? = nil) -> String {
        "postgres://\(user)@127.0.0.1:\(port)/\(database ?? self.database)?sslmode=disable"
    }

    /// The environment an `ares` process needs to reach the database (URL and password file).
    public func environment(database: String? = nil) -> [String: String] {
        ["ARES_DATABASE_URL": url(database: database), "ARES_DATABASE_PASSWORD_FILE": passwordFile.path]
    }

    private init(directory: URL, port: Int, password: String) {
        self.directory = directory
        self.port = port
        self.password = password
        passwordFile = directory.appendingPathComponent("password")
    }

    /// Starts a new cluster (2–5 s). Stop it with `stop()`; should the test process end first,
    /// the script's watchdog stops it and removes its folder.
    public static func start() throws -> TestPostgresCluster {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-pg-\(UUID().uuidString.prefix(8))")
        let output = try runScript(["start", directory.path, String(ProcessInfo.processInfo.processIdentifier)])
        var values: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        guard let portText = values["PGPORT"], let port = Int(portText) else {
            throw ClusterError(message: "postgres-test-cluster.sh printed no port: \(output)")
        }
        let password = try String(contentsOf: directory.appendingPathComponent("password"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        TestRunRecord.registerSecret(password)
        return TestPostgresCluster(directory: directory, port: port, password: password)
    }

    /// One cluster for the whole test process, started by the first test that asks for it.
    /// Suites isolate themselves with their own database (`createDatabase`).
    public static func shared() async throws -> TestPostgresCluster {
        try await SharedCluster.instance.get()
    }

    /// The same shared cluster for synchronous callers (a data directory made in a static
    /// initializer, `TestBackend`). The first caller starts it (2–5 s); callers arriving
    /// meanwhile wait for that start rather than starting a second cluster, and a failed start
    /// is retried by the next caller.
    public static func sharedStarted() throws -> TestPostgresCluster {
        try sharedInstance.withLock { instance in
            if let instance { return instance }
            let started = try start()
            instance = started
            return started
        }
    }

    private static let sharedInstance = Mutex<TestPostgresCluster?>(nil)

    public func stop() {
        _ = try? Self.runScript(["stop", directory.path])
    }

    /// Stops the server but keeps the cluster (a database that is away); `resume()` starts it
    /// again on the same port. Only for a cluster of one's own, never the shared one.
    public func pause() throws {
        try Self.runScript(["pause", directory.path])
    }

    public func resume() throws {
        try Self.runScript(["resume", directory.path])
    }

    /// Runs SQL as the superuser over the private socket (for setting up and for tampering);
    /// returns psql's unaligned, tuples-only output. The SQL goes to psql on stdin, so a
    /// password in it (CREATE ROLE … PASSWORD) never shows in a process listing.
    @discardableResult
    public func superuserSQL(_ sql: String, database: String = "postgres") throws -> String {
        try Self.runScript(["psql", directory.path, "-d", database, "-A", "-t"], input: sql)
    }

    /// The same from an async function (which the compiler picks there): psql is waited for on
    /// a thread of its own (`BlockingWork`), not on one of the cooperative pool's.
    @discardableResult
    public func superuserSQL(_ sql: String, database: String = "postgres") async throws -> String {
        try await BlockingWork.run { try self.superuserSQL(sql, database: database) }
    }

    /// A new empty database owned by `ares`, named after `prefix` and a random suffix.
    public func createDatabase(prefix: String = "t") throws -> String {
        let name = "\(prefix.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "_" })_\(UUID().uuidString.prefix(8).lowercased())"
        try superuserSQL("CREATE DATABASE \(name) OWNER ares")
        return name
    }

    /// The same from an async function, without holding a thread of the cooperative pool.
    public func createDatabase(prefix: String = "t") async throws -> String {
        try await BlockingWork.run { try self.createDatabase(prefix: prefix) }
    }

    /// The package's scripts/postgres-test-cluster.sh.
    public static var script: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/postgres-test-cluster.sh")
    }

    public struct ClusterError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        public init(message: String) { self.message = message }
    }

    @discardableResult
    static func runScript(_ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        // Not `waitUntilExit()`: the script closes Foundation's exit signal at its start, and
        // Foundation then may never notice its end (ChildProcessExit says why).
        let exit = ChildProcessExit.wait(for: process)
        guard exit.succeeded else {
            throw ClusterError(message: "postgres-test-cluster.sh \(arguments.first ?? "") failed (\(exit)): "
                + String(decoding: errData, as: UTF8.self))
        }
        return String(decoding: outData, as: UTF8.self)
    }
}

/// Starts the shared cluster once for async callers, however many ask at the same time: they
/// wait suspended, not each holding a cooperative thread on the lock in `sharedStarted()`.
private actor SharedCluster {
    static let instance = SharedCluster()
    private var starting: Task<TestPostgresCluster, any Error>?

    func get() async throws -> TestPostgresCluster {
        if let starting { return try await starting.value }
        let task = Task { try TestPostgresCluster.sharedStarted() }
        starting = task
        return try await task.value
    }
}
