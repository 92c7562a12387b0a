import AresTestSupport
import Foundation
import Knowledge
import Storage
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `ares serve --standby`: a second (and third) process on the same data directory and port
/// waits for the data directory's lock, binding nothing, and the first in line takes over when
/// the serving process is SIGKILLed: it opens the stores, resumes the tasks the dead process held
/// and serves on the same port. Embedded deployment only (the data directories here are never
/// provisioned for PostgreSQL, whatever ARES_TEST_BACKEND says: a standby is the embedded
/// deployment's failover).
@Suite(.serialized) struct StandbyTakeoverTests {
    @Test func oneOfTwoStandbysTakesOverAfterSigkillAndNothingAcknowledgedIsLost() async throws {
        let data = try Self.embeddedDataDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let key = try await ServerProcess.createKey(role: "researcher", in: data)
        // Every model call waits until the test releases it, so no task can end before the kill
        // (a CI run submitted so slowly that the server had finished all 30 before it).
        let model = try PythonFixture(script: "slow_model_endpoint.py", arguments: ["0", "held"])
        defer { model.stop() }
        let modelPort = try model.firstLine()
        let modelArguments = ["--model-url", "http://127.0.0.1:\(modelPort)/v1", "--model", "held"]
        let primary = try await ServerProcess(dataDirectory: data, arguments: ["--max-running-tasks", "2", "--max-queued-tasks", "500"] + modelArguments)
        let port = primary.port
        let standbys = try [StandbyProcess(data: data, port: port, arguments: modelArguments),
                            StandbyProcess(data: data, port: port, arguments: modelArguments)]
        defer { standbys.forEach { $0.kill9() } }
        for standby in standbys {
            try await standby.waitForLog("standby: waiting for the data directory held by pid \(primary.process.processIdentifier)")
            #expect(!standby.log().contains("\"msg\":\"listening\""), "a standby binds nothing while it waits: \(standby.log())")
        }

        var acknowledged: [String] = []
        for index in 0..<30 {
            let reply = try await primary.rpc("SendMessage", params: Self.question("How are tasks resumed after a crash, case \(index)?"), key: key).json()
            if let id = (reply["result"] as? [String: Any]).flatMap({ $0["task"] as? [String: Any] })?["id"] as? String { acknowledged.append(id) }
        }
        #expect(acknowledged.count == 30)
        // Killed with tasks running and queued: no chance to flush or hand anything over.
        primary.stop()
        #expect(primary.process.terminationReason == .uncaughtSignal)
        // Evidence: the dead process left unfinished tasks for the standby to resume.
        let unfinished = try TaskStreamProbe(path: data.appendingPathComponent("tasks.sqlite").path)
            .unfinishedTasks(endings: ["TaskCompleted", "TaskFailed", "TaskCanceled"])
        #expect(unfinished.count == acknowledged.count, "tasks ended before the kill, or were not recorded: \(unfinished.count) of \(acknowledged.count) unfinished")
        model.send(SIGUSR1)

        // Exactly one standby serves on the port; the other waits for it in turn.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        var serving: [StandbyProcess] = []
        while clock.now < deadline {
            serving = standbys.filter { $0.log().contains("\"msg\":\"listening\"") }
            if !serving.isEmpty, await Self.get("http://127.0.0.1:\(port)/health/ready").status == 200 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let taker = try #require(serving.first, "no standby took over: \(standbys.map { $0.log() })")
        #expect(serving.count == 1, "two standbys took over the same data directory")
        #expect(taker.log().contains("standby: the data directory is free; taking over"))
        let other = try #require(standbys.first { $0 !== taker })
        try await other.waitForLog("standby: waiting for the data directory held by pid \(taker.process.processIdentifier)")
        #expect(other.process.isRunning)

        for id in acknowledged {
            var state: String?
            for _ in 0..<800 {
                let reply = await Self.rpc(port: port, "GetTask", params: ["id": id], key: key)
                state = ((reply["result"] as? [String: Any])?["status"] as? [String: Any])?["state"] as? String
                if state == "TASK_STATE_COMPLETED" { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(state == "TASK_STATE_COMPLETED", "acknowledged task \(id) was lost or did not finish under the standby")
        }
        // SIGTERM to the standby still waiting: it exits at once, having opened nothing.
        kill(other.process.processIdentifier, SIGTERM)
        try await other.waitForExit()
        #expect(other.process.terminationReason == .exit && other.process.terminationStatus == 0, "\(other.log())")
        #expect(other.log().contains("standby: stopped while waiting"))
        taker.terminate()
        try await taker.waitForExit()
        let verify = try await ServerProcess.ares(["verify", "--data-dir", data.path])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    @Test func aWaitingStandbyNamesTheHolderBindsNothingAndExitsAtOnceOnSigterm() async throws {
        let data = try Self.embeddedDataDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        _ = try await ServerProcess.createKey(role: "researcher", in: data)
        let held = try DataDirectoryLock(directory: data)
        let port = try Self.freePort()
        let standby = try StandbyProcess(data: data, port: port)
        defer { standby.kill9() }
        try await standby.waitForLog("standby: waiting for the data directory held by pid \(getpid())")
        #expect(await Self.get("http://127.0.0.1:\(port)/health/live").status == nil, "a waiting standby must not listen")
        kill(standby.process.processIdentifier, SIGTERM)
        try await standby.waitForExit()
        #expect(standby.process.terminationReason == .exit && standby.process.terminationStatus == 0, "\(standby.log())")
        #expect(standby.log().contains("standby: stopped while waiting; nothing was opened"))
        #expect(!standby.log().contains("\"msg\":\"listening\""))
        _ = held
        // A standby on a database deployment is refused: replicas share the work queue instead.
        let refused = try await ServerProcess.ares(["serve", "--standby", "--port", "0", "--data-dir", data.path,
                                              "--database", "postgres://ares@127.0.0.1:1/ares"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--standby"), "\(refused.stderr)")
    }

    // MARK: helpers

    /// A data directory with a few pages ingested, on the embedded store.
    static func embeddedDataDirectory() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ares-standby-test-\(UUID().uuidString)")
        let corpus = root.appendingPathComponent("corpus")
        try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
        try Data("# Tasks\n\nEvery task is a durable, hash-chained event stream. After a crash the server resumes unfinished tasks from their last recorded step.\n".utf8)
            .write(to: corpus.appendingPathComponent("tasks.md"))
        try Data("# Standby\n\nA standby process waits for the data directory's lock and takes over when the serving process dies.\n".utf8)
            .write(to: corpus.appendingPathComponent("standby.md"))
        let data = root.appendingPathComponent("data")
        let ingest = try AresProcess.run(["ingest", corpus.path, "--data-dir", data.path])
        guard ingest.status == 0 else { throw ServerProcess.Failure("ingest failed: \(ingest.stderr)") }
        return data
    }

    static func question(_ text: String) -> [String: Any] {
        ["message": ["messageId": UUID().uuidString, "role": "ROLE_USER", "parts": [["text": text]]],
         "configuration": ["returnImmediately": true]]
    }

    static func rpc(port: Int, _ method: String, params: [String: Any], key: String) async -> [String: Any] {
        guard let url = URL(string: "http://127.0.0.1:\(port)/a2a"),
              let body = try? JSONSerialization.data(withJSONObject: ["jsonrpc": "2.0", "id": 1, "method": method, "params": params]) else { return [:] }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("1.0", forHTTPHeaderField: "A2A-Version")
        request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        guard let (data, _) = try? await URLSession.shared.data(for: request),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return object
    }

    /// The status of a GET, nil when nothing answered.
    static func get(_ address: String) async -> (status: Int?, body: Data) {
        guard let url = URL(string: address) else { return (nil, Data()) }
        var request = URLRequest(url: url)
        request.timeoutInterval = 5
        guard let (data, response) = try? await URLSession.shared.data(for: request) else { return (nil, Data()) }
        return ((response as? HTTPURLResponse)?.statusCode, data)
    }

    /// A loopback port free at this moment (bound to 0 and released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerProcess.Failure("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ServerProcess.Failure("bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// `ares serve --standby` as a child process, its output in a log file of its own.
final class StandbyProcess: @unchecked Sendable {
    let process = Process()
    private let logFile: URL

    init(data: URL, port: Int, arguments: [String] = []) throws {
        let name = "standby-\(UUID().uuidString).log"
        logFile = TestRunRecord.logFile(named: name, fallback: data.deletingLastPathComponent().appendingPathComponent(name))
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.executableURL = AresProcess.binary
        process.arguments = ["serve", "--standby", "--port", "\(port)", "--host", "127.0.0.1", "--data-dir", data.path] + arguments
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ARES_") }
        if let binary = ProcessInfo.processInfo.environment["ARES_BINARY"] { environment["ARES_BINARY"] = binary }
        process.environment = environment
        let output = try FileHandle(forWritingTo: logFile)
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    deinit { kill9() }

    func log() -> String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// Polls the log for `text` (60 s at most; fails early if the process exits).
    func waitForLog(_ text: String) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while clock.now < deadline {
            if log().contains(text) { return }
            guard process.isRunning else { throw ServerProcess.Failure("ares serve --standby exited (\(process.terminationStatus)) before logging '\(text)': \(log())") }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw ServerProcess.Failure("ares serve --standby did not log '\(text)' within 60 s: \(log())")
    }

    /// Polls until the process has exited (30 s at most).
    func waitForExit() async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while process.isRunning, clock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        guard !process.isRunning else { throw ServerProcess.Failure("ares serve --standby still runs 30 s after SIGTERM: \(log())") }
    }

    func terminate() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
    }

    func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
