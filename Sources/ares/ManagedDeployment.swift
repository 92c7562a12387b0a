import AsyncHTTPClient
import Foundation
import Validation
#if canImport(Glibc)
import Glibc
#endif

/// The deployment `ares validate --manage` runs itself: this same `ares` binary as `ares serve`
/// child processes on loopback ports, over a fresh data directory with a small corpus ingested
/// and keys created for the run (read from the child's output, never printed).
///
/// Embedded (the default): one process over SQLite. The phases that act on it restart it (same
/// port, other arguments or another data directory), SIGKILL it, and restore it.
/// Replicated (`--replicas N --database …`): N `ares serve --database` processes on one
/// PostgreSQL database (one the run starts, or the caller's), each with a data directory of
/// its own and its own port and replica id; the knowledge base (ingested once, into the
/// database) and the keys live in the database. The failover phase SIGKILLs some of them and starts them again.
///
/// Everything the run wrote lives under one work directory, removed when the run ends; the
/// logs (every start appended) are kept in the output directory.
final class ManagedDeployment: @unchecked Sendable {
    // @unchecked: the processes and data directories are only touched by the one task that
    // runs the validation, in order (start, the phases' restarts, stop); the class exists so
    // that `deinit` can stop children left running.

    /// The shared database of a replicated deployment.
    struct Database: Sendable {
        /// Without a password (the replicas read it from `passwordFile`).
        var url: String
        var passwordFile: String?
        /// The cluster the run started (`--database managed`), stopped with the deployment.
        var cluster: ManagedPostgres?
    }

    let binary: URL
    /// `validate --serve-option` arguments: given to every `ares serve` started (replicas,
    /// restarts, the standby), before the arguments a phase adds.
    let serveOptions: [String]
    /// Holds the data directories, backups, restored copies, scratch filesystems and a managed
    /// PostgreSQL cluster of the run.
    let workDirectory: URL
    /// Where the first (in the embedded deployment: the only) server keeps its data (phases move
    /// it: a full disk, a restore).
    var dataDirectory: URL
    let logFile: URL
    let database: Database?
    let replicaCount: Int
    private var processes: [Process]
    private var dataDirectories: [URL]
    private var generations: [Int]
    /// The ports the first start was given by the system; restarts listen on them again, so the
    /// load generator's targets never change.
    private(set) var ports: [Int]
    private(set) var baseURLs: [URL]
    private(set) var adminKey = ""
    /// `ares serve --standby` on the first server's data directory and port (embedded only;
    /// the failover phase starts it), waiting to take over when the first server dies.
    private var standby: Process?
    private var standbyStarts = 0
    private(set) var loadKeys: [String] = []

    var baseURL: URL { baseURLs[0] }
    var port: Int { ports[0] }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Prepares the data directory (ingest, keys) and starts the servers; returns once each listens.
    init(binary: URL, corpus: URL?, loadClients: Int, logFile: URL, serveOptions: [String] = [], replicas: Int = 1,
         database: Database? = nil, progress: (String) -> Void) throws {
        self.binary = binary
        self.serveOptions = serveOptions
        workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-validate-\(UUID().uuidString.lowercased())")
        dataDirectory = workDirectory.appendingPathComponent("data")
        self.logFile = logFile
        self.database = database
        replicaCount = max(1, replicas)
        processes = (0..<max(1, replicas)).map { _ in Process() }
        dataDirectories = Array(repeating: FileManager.default.temporaryDirectory, count: max(1, replicas))
        generations = Array(repeating: 0, count: max(1, replicas))
        ports = Array(repeating: 0, count: max(1, replicas))
        baseURLs = Array(repeating: URL(fileURLWithPath: "/"), count: max(1, replicas))
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        let corpusPath = try corpus?.path ?? Self.writeFallbackCorpus(in: workDirectory.appendingPathComponent("corpus")).path
        if database != nil {
            // `serve --database` searches the knowledge base every replica shares, in the database.
            progress("managed deployment: ingesting \(corpusPath) into the database ...")
            _ = try runAres(["ingest", corpusPath, "--data-dir", dataDirectory.path], what: "ares ingest --database", withDatabase: true)
        } else {
            progress("managed deployment: ingesting \(corpusPath) into \(dataDirectory.path) ...")
            _ = try runAres(["ingest", corpusPath, "--data-dir", dataDirectory.path], what: "ares ingest", withDatabase: false)
        }
        adminKey = try createKey(role: "admin", name: "validate-admin")
        loadKeys = try (0..<max(1, loadClients)).map { try createKey(role: "researcher", name: "validate-load-\($0)") }
        dataDirectories[0] = dataDirectory
        for index in 1..<replicaCount {
            // Each replica a data directory of its own (its lock, logs, audit trail), as each pod has its own volume.
            let copy = workDirectory.appendingPathComponent("data-replica-\(index)")
            try FileManager.default.copyItem(at: dataDirectory, to: copy)
            dataDirectories[index] = copy
        }
        for index in 0..<replicaCount {
            _ = FileManager.default.createFile(atPath: self.logFile(index).path, contents: nil)
            try start(replica: index, port: 0, extraArguments: [])
        }
        let deadline = Date().addingTimeInterval(60)
        var listening = Set<Int>()
        while Date() < deadline, listening.count < replicaCount {
            for index in 0..<replicaCount where !listening.contains(index) {
                let log = self.logFile(index)
                if let port = Self.listeningPort(in: (try? String(contentsOf: log, encoding: .utf8)) ?? ""),
                   let url = URL(string: "http://127.0.0.1:\(port)") {
                    ports[index] = port
                    baseURLs[index] = url
                    listening.insert(index)
                    progress("managed deployment: ares serve\(database == nil ? "" : " --database (replica \(replicaID(index)))") (pid \(processes[index].processIdentifier)) listening on \(url.absoluteString), log \(log.path)")
                    continue
                }
                guard processes[index].isRunning else {
                    // Its own last words say why (a refused option, an unreachable database).
                    let said = Self.lastLine(of: log).map { ": \($0)" } ?? ""
                    throw Failure(description: "the managed ares serve exited with status \(processes[index].terminationStatus)\(said); its log is \(log.path)")
                }
            }
            if listening.count < replicaCount { Thread.sleep(forTimeInterval: 0.05) }
        }
        guard listening.count == replicaCount else {
            stop()
            throw Failure(description: "the managed ares serve did not start listening within 60 s; its log is \(logFile.path)")
        }
    }

    deinit { stop() }

    /// The last non-empty line of a server's log, at most 500 characters of it.
    private static func lastLine(of log: URL) -> String? {
        guard let text = try? String(contentsOf: log, encoding: .utf8),
              let line = text.split(whereSeparator: \.isNewline).last(where: { !$0.allSatisfy(\.isWhitespace) }) else { return nil }
        return String(line.prefix(500))
    }

    /// Waits until every replica's /health/ready answers 200 (a replica on PostgreSQL listens
    /// at once and is ready once the database is reached and migrated, its keys loaded).
    func waitUntilReady(within seconds: Double) async throws {
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(seconds * 1000))
        var waiting = Set(baseURLs.indices)
        while !waiting.isEmpty, clock.now < deadline {
            for index in waiting.sorted() {
                let request = HTTPClientRequest(url: baseURLs[index].absoluteString + "/health/ready")
                if let response = try? await client.execute(request, timeout: .seconds(2)), response.status == .ok { waiting.remove(index) }
            }
            if !waiting.isEmpty { try? await clock.sleep(for: .milliseconds(100)) }
        }
        try? await client.shutdown()
        guard waiting.isEmpty else {
            throw Failure(description: "replica \(waiting.sorted().map { replicaID($0) }.joined(separator: ", ")) not ready within \(Int(seconds)) s; see \(logFile.path)")
        }
    }

    /// Polls each of `replicas`' /health/ready until all answer 200 (true) or `seconds` pass (false).
    func waitReady(replicas: [Int], http: LoadHTTPClient, within seconds: Double) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(seconds * 1000))
        var waiting = Set(replicas.filter { baseURLs.indices.contains($0) })
        while !waiting.isEmpty, clock.now < deadline {
            for index in waiting.sorted() {
                let answer = await http.get(baseURLs[index].absoluteString + "/health/ready")
                if answer.failure == nil, answer.status == 200 { waiting.remove(index) }
            }
            if !waiting.isEmpty { try? await clock.sleep(for: .milliseconds(100)) }
        }
        return waiting.isEmpty
    }

    /// Whether every replica answers 200 on `path` now.
    func everyReplicaAnswers200(_ path: String, http: LoadHTTPClient) async -> Bool {
        for url in baseURLs {
            let answer = await http.get(url.absoluteString + path)
            guard answer.failure == nil, answer.status == 200 else { return false }
        }
        return true
    }

    /// Every hash chain checked, in its own words: `ares db verify` over the shared database of a
    /// replicated deployment, else `ares verify` over `directory` (the embedded one's data directory
    /// unless another is named, as a restored copy is).
    func verifyChains(_ directory: URL? = nil) -> DeploymentChecks.ChainVerification {
        let command = database == nil ? ["verify", "--data-dir", (directory ?? dataDirectory).path] : ["db", "verify"]
        let (status, output) = runAresForStatus(command)
        let line = output.split(separator: "\n").first { !$0.isEmpty }.map(String.init) ?? "no output"
        return .init(intact: status == 0, detail: status == 0 ? line : "exit \(status): \(line)", command: database == nil ? "ares verify" : "ares db verify")
    }

    var isRunning: Bool { processes[0].isRunning }
    /// The replicas' indices (the embedded deployment: just 0).
    var replicaIndices: [Int] { Array(processes.indices) }
    var processIdentifier: Int32 { processes[0].processIdentifier }

    /// The log of replica `index`: the run's log for the first, a sibling file for the others.
    func logFile(_ index: Int) -> URL {
        guard index > 0 else { return logFile }
        return logFile.deletingPathExtension().appendingPathExtension("replica-\(index).log")
    }

    /// Replica `index`'s id in the queue's leases and the logs; a restart is a new pod with a new id.
    func replicaID(_ index: Int) -> String {
        let generation = generations.indices.contains(index) ? generations[index] : 0
        return "validate-replica-\(index)" + (generation > 0 ? "-restart-\(generation)" : "")
    }

    func isRunning(replica index: Int) -> Bool { processes.indices.contains(index) && processes[index].isRunning }

    /// Starts `ares serve` over the current data directory on the run's port (the first server;
    /// the first start: one the system picks), its output appended to the log. Does not wait for readiness.
    /// A standby is stopped first: the phases that restart the server (other arguments, another
    /// data directory) would otherwise race it for the data directory.
    func start(extraArguments: [String]) throws {
        stopStandby()
        dataDirectories[0] = dataDirectory
        try start(replica: 0, port: ports[0], extraArguments: extraArguments)
    }

    /// Every replica stopped (SIGTERM) and started again on its port with `extraArguments`, under
    /// the same replica ids (a drained replica hands its work back). Does not wait for readiness.
    func restartEveryReplica(extraArguments: [String]) throws {
        stopStandby()
        for index in processes.indices { terminate(replica: index) }
        dataDirectories[0] = dataDirectory
        for index in processes.indices { try start(replica: index, port: ports[index], extraArguments: extraArguments) }
    }

    /// Replicas found not running started again (new ids); returns their indices.
    func restartExitedReplicas() -> [Int] {
        let exited = processes.indices.filter { !processes[$0].isRunning }
        for index in exited { try? restart(replica: index) }
        return exited
    }

    /// Starts replica `index` again on its port (after a kill), as a new replica id.
    func restart(replica index: Int) throws {
        guard processes.indices.contains(index) else { return }
        generations[index] += 1
        try start(replica: index, port: ports[index], extraArguments: [])
    }

    private func start(replica index: Int, port: Int, extraArguments: [String]) throws {
        let output = try FileHandle(forWritingTo: logFile(index))
        try output.seekToEnd()
        let process = Process()
        process.executableURL = binary
        var arguments = ["serve", "--port", "\(port)", "--host", "127.0.0.1", "--data-dir", dataDirectories[index].path]
        if database != nil { arguments += ["--replica-id", replicaID(index)] }
        process.arguments = arguments + serveOptions + extraArguments
        process.environment = childEnvironment(withDatabase: true)
        process.standardOutput = output
        process.standardError = output
        try process.run()
        processes[index] = process
    }

    /// SIGKILL, as a machine or a pod is lost: no shutdown of any kind (the first server). A
    /// standby is stopped first, so that the phases that kill and restart the server themselves
    /// (kill-restart, restore) measure that; the failover phase kills with `kill9(replica: 0)`.
    func kill9() {
        stopStandby()
        kill9(replica: 0)
    }

    /// SIGSTOP (true) or SIGCONT (false) to replica `index`: a stopped process records nothing,
    /// so what it holds can be read and then killed with exactly that (the failover phases).
    func setPaused(_ paused: Bool, replica index: Int) {
        guard processes.indices.contains(index), processes[index].isRunning else { return }
        let pid = processes[index].processIdentifier
        kill(pid, paused ? SIGSTOP : SIGCONT)
        if paused { Self.waitUntilStopped(pid) }
    }

    /// kill(2) returns once SIGSTOP is sent; each thread stops at its next return to user mode
    /// (one in fsync finishes it first, so a commit can still land). Waits, at most a second,
    /// until every thread is stopped (Linux's /proc; elsewhere it returns at once): before that,
    /// a reader of the process's store could miss a task's ending that it was writing.
    private static func waitUntilStopped(_ pid: pid_t) {
        let threads = "/proc/\(pid)/task"
        let deadline = ContinuousClock.now + .seconds(1)
        while ContinuousClock.now < deadline {
            guard let ids = try? FileManager.default.contentsOfDirectory(atPath: threads) else { return }
            let running = ids.contains { id in
                // The state follows the command name in parentheses, which may itself hold ") ".
                guard let stat = try? String(contentsOfFile: "\(threads)/\(id)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { return false }
                let state = stat[stat.index(after: close)...].first { $0 != " " }
                return !["T", "t", "Z", "X"].contains(state)
            }
            guard running else { return }
            usleep(1_000)
        }
    }

    /// SIGKILLs the `victims` at the first moment before `latest` at which `holdsWork` (read while
    /// they are paused with SIGSTOP) says they hold work, or at `latest` in any case (a kill of
    /// an idle server tests no takeover). Killed still paused, they hold at the kill exactly what
    /// was read: running, the tasks seen could end, or new ones start, before the kill lands.
    func killWhenHoldingWork(_ victims: [Int], until latest: ContinuousClock.Instant,
                             holdsWork: () async throws -> Bool) async rethrows {
        while ContinuousClock.now < latest {
            for index in victims { setPaused(true, replica: index) }
            if try await holdsWork() { break }
            for index in victims { setPaused(false, replica: index) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        for index in victims { kill9(replica: index) }
    }

    /// SIGKILL replica `index`.
    func kill9(replica index: Int) {
        guard processes.indices.contains(index), processes[index].isRunning else { return }
        kill(processes[index].processIdentifier, SIGKILL)
        processes[index].waitUntilExit()
    }

    /// SIGTERM, then SIGKILL if it has not exited within 30 s (the first server; a standby first,
    /// which would otherwise take over).
    func terminate() {
        stopStandby()
        terminate(replica: 0)
    }

    // MARK: standby (embedded)

    /// The standby's log: a sibling of the deployment's log, every standby appended.
    var standbyLogFile: URL { logFile.deletingPathExtension().appendingPathExtension("standby.log") }

    /// Whether a standby process is running (waiting, or taking over).
    var hasStandby: Bool { standby?.isRunning == true }
    var standbyProcessIdentifier: Int32? { standby.map(\.processIdentifier) }

    /// Starts `ares serve --standby` on the first server's data directory and port with
    /// `extraArguments` (the first server's); returns the offset in the standby log from which
    /// its lines are this start's. Does not wait (see `standbyIsWaiting(after:)`).
    @discardableResult
    func startStandby(extraArguments: [String]) throws -> UInt64 {
        stopStandby()
        if !FileManager.default.fileExists(atPath: standbyLogFile.path) {
            _ = FileManager.default.createFile(atPath: standbyLogFile.path, contents: nil)
        }
        let output = try FileHandle(forWritingTo: standbyLogFile)
        let offset = try output.seekToEnd()
        standbyStarts += 1
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--standby", "--port", "\(ports[0])", "--host", "127.0.0.1", "--data-dir", dataDirectory.path] + serveOptions + extraArguments
        process.environment = childEnvironment(withDatabase: false)
        process.standardOutput = output
        process.standardError = output
        try process.run()
        standby = process
        return offset
    }

    /// Whether the standby started at `offset` says it waits for the data directory.
    func standbyIsWaiting(after offset: UInt64) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: standbyLogFile) else { return false }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.readToEnd() else { return false }
        return String(decoding: data, as: UTF8.self).contains("standby: waiting for the data directory held by")
    }

    /// The standby took over: it is the first server from now on (kills, restarts, stop act on it).
    func promoteStandby() {
        guard let standby else { return }
        processes[0] = standby
        self.standby = nil
    }

    /// SIGTERM to the standby (one that waits exits at once), SIGKILL after 30 s.
    func stopStandby() {
        guard let process = standby else { return }
        standby = nil
        Self.stop(process)
    }

    func terminate(replica index: Int) {
        guard processes.indices.contains(index) else { return }
        Self.stop(processes[index])
    }

    /// SIGTERM, then SIGKILL when the process has not exited within 30 s (a drain that hangs
    /// must not hold the run).
    private static func stop(_ process: Process) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        // A paused process (see `setPaused`) handles the SIGTERM once continued.
        kill(process.processIdentifier, SIGCONT)
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Stops the servers and a cluster the run started; then everything the run wrote goes.
    func stop() {
        stopStandby()
        for index in processes.indices { terminate(replica: index) }
        database?.cluster?.stop()
        try? FileManager.default.removeItem(at: workDirectory)
    }

    /// Runs `ares ARGUMENTS` to its end: its exit status and its output (stdout and stderr in
    /// one pipe, so neither can fill up while the other is read). Not for commands that print keys.
    func runAresForStatus(_ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = childEnvironment(withDatabase: true)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do { try process.run() } catch { return (-1, "could not start ares: \(error)") }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The caller's environment without ARES_* settings: the managed deployment is the default
    /// embedded one, whatever the caller's shell configures; with a database (and
    /// `withDatabase`), its URL and password file (the password itself never in an argument).
    private func childEnvironment(withDatabase: Bool) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ARES_") }
        if withDatabase, let database {
            environment["ARES_DATABASE_URL"] = database.url
            if let passwordFile = database.passwordFile { environment["ARES_DATABASE_PASSWORD_FILE"] = passwordFile }
        }
        return environment
    }

    private func createKey(role: String, name: String) throws -> String {
        let key = try runAres(["keys", "create", "--role", role, "--name", name, "--data-dir", dataDirectory.path], what: "ares keys create")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty, !key.contains(where: \.isWhitespace) else { throw Failure(description: "ares keys create printed no key") }
        return key
    }

    /// Runs `ares` to its end and returns its standard output; a failure carries its standard
    /// error (which never holds a key: keys go to standard output only).
    func runAres(_ arguments: [String], what: String, withDatabase: Bool = true) throws -> String {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = childEnvironment(withDatabase: withDatabase)
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
