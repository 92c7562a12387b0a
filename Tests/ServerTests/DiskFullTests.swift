import Foundation
import Testing

/// A real `ares serve` whose data directory lives on a small tmpfs made for the test, which the
/// test fills: writes must fail with the retryable error (JSON-RPC -32050, HTTP 503 with
/// Retry-After) while reads, liveness and the process carry on, readiness must say why, nothing
/// acknowledged may be lost, and writing must resume by itself once space returns.
///
/// Needs root (mount); CI runs as root. Without it the test fails and says so: it never skips.
@Suite(.serialized) struct DiskFullTests {
    private func question(_ text: String, returnImmediately: Bool = false) -> [String: Any] {
        var params: [String: Any] = ["message": ["messageId": UUID().uuidString, "role": "ROLE_USER", "parts": [["text": text]]]]
        if returnImmediately { params["configuration"] = ["returnImmediately": true] }
        return params
    }

    @Test func aFullDiskRefusesWritesRetryablyKeepsReadsAndRecoversWithoutARestart() async throws {
        let mount = try SmallFileSystem(megabytes: 8)
        defer { mount.unmount() }
        let corpus = FileManager.default.temporaryDirectory.appendingPathComponent("ares-diskfull-corpus-\(UUID().uuidString)")
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("ares-diskfull-logs-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: corpus)
            try? FileManager.default.removeItem(at: logs)
        }
        try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try """
            # Durable tasks
            Every research task is an event stream. A task resumes from its last recorded step after a restart.
            The event store keeps each stream hash-chained, so a changed event is found by ares verify.
            """.write(to: corpus.appendingPathComponent("tasks.md"), atomically: true, encoding: .utf8)
        let data = mount.directory.appendingPathComponent("data")
        let ingest = try await ServerProcess.ares(["ingest", corpus.path, "--data-dir", data.path])
        try #require(ingest.status == 0, "ingest failed: \(ingest.stderr)")
        let key = try await ServerProcess.createKey(role: "researcher", in: data)
        let server = try await ServerProcess(dataDirectory: data, logDirectory: logs)
        defer { server.stop() }

        // Acknowledged before the disk fills: these must survive intact.
        var acknowledged: [String] = []
        for text in ["How are tasks resumed?", "What does ares verify find?"] {
            let json = try await server.rpc("SendMessage", params: question(text), key: key).json()
            acknowledged.append(try #require(value(json, "result", "task", "id") as? String, "\(json)"))
            #expect(value(json, "result", "task", "status", "state") as? String == "TASK_STATE_COMPLETED")
        }
        #expect(try await server.request("GET", "/health/ready").status == 200)

        let filler = try mount.fill()
        // SQLite may still have room inside its WAL file; new tasks are accepted until that is
        // used up too. Every acceptance is an acknowledgement that must not be lost.
        var refusal: ServerProcess.Reply?
        for attempt in 0..<400 {
            let reply = try await server.rpc("SendMessage", params: question("While full \(attempt): how are tasks resumed?", returnImmediately: true), key: key)
            let json = try reply.json()
            if let id = value(json, "result", "task", "id") as? String {
                acknowledged.append(id)
                continue
            }
            refusal = reply
            break
        }
        let refused = try #require(refusal, "SendMessage never failed on a full disk")
        let error = try refused.json()
        #expect(value(error, "error", "code") as? Int == -32050, "\(refused.text)")
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "5")
        #expect((value(error, "error", "message") as? String)?.contains("disk full") == true, "\(refused.text)")

        // The REST binding says the same: 503, Retry-After.
        let rest = try await server.request("POST", "/rest/message:send", body: try JSONSerialization.data(withJSONObject: question("REST while full?")),
                                            headers: ["Content-Type": "application/json", "Authorization": "Bearer \(key)", "A2A-Version": "1.0"])
        #expect(rest.status == 503, "\(rest.text)")
        #expect(rest.header("Retry-After") == "5")

        // Reads, liveness and the process carry on; readiness says why it is not ready.
        #expect(server.process.isRunning)
        #expect(try await server.request("GET", "/health/live").status == 200)
        let ready = try await server.request("GET", "/health/ready")
        #expect(ready.status == 503)
        let storageCheck = value(try ready.json(), "checks", "storage") as? String
        #expect(storageCheck?.contains("not writable") == true && storageCheck?.contains("disk full") == true, "\(ready.text)")
        // Prometheus sees it too: the gauges AresStorageNotWritable and AresStorageAlmostFull read.
        func gauge(_ name: String) async throws -> Double? {
            let text = try await server.request("GET", "/metrics", headers: ["Authorization": "Bearer \(key)"]).text
            return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
        }
        #expect(try await gauge("ares_storage_writable") == 0)
        let size = try #require(try await gauge("ares_storage_size_bytes"))
        let available = try #require(try await gauge("ares_storage_available_bytes"))
        #expect(size > 0 && available / size < 0.10, "\(available) of \(size) bytes available on a full disk")
        let first = try await server.rpc("GetTask", params: ["id": acknowledged[0]], key: key).json()
        #expect(value(first, "result", "status", "state") as? String == "TASK_STATE_COMPLETED", "\(first)")
        let listed = try await server.rpc("ListTasks", params: ["pageSize": 100], key: key).json()
        let listedIDs = Set(((value(listed, "result", "tasks") as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String })
        #expect(Set(acknowledged).isSubset(of: listedIDs), "\(listed)")

        // Space returns: writing resumes by itself, no restart.
        try FileManager.default.removeItem(at: filler)
        var resumed: String?
        for _ in 0..<60 {
            let json = try await server.rpc("SendMessage", params: question("After the disk is freed: how are tasks resumed?"), key: key).json()
            if let id = value(json, "result", "task", "id") as? String {
                #expect(value(json, "result", "task", "status", "state") as? String == "TASK_STATE_COMPLETED", "\(json)")
                resumed = id
                break
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        let after = try #require(resumed, "SendMessage did not succeed after the disk was freed")
        acknowledged.append(after)
        #expect(try await server.request("GET", "/health/ready").status == 200)
        #expect(try await gauge("ares_storage_writable") == 1)
        // Every task acknowledged at any point finishes (those paused by the full disk resume).
        for id in acknowledged {
            var state: String?
            for _ in 0..<120 {
                state = value(try await server.rpc("GetTask", params: ["id": id], key: key).json(), "result", "status", "state") as? String
                if state == "TASK_STATE_COMPLETED" { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(state == "TASK_STATE_COMPLETED", "task \(id) ended \(state ?? "unknown")")
        }
        #expect(server.log().contains("waits until the storage takes writes again") || acknowledged.count == 3,
                "no task paused on the full disk although \(acknowledged.count - 3) were accepted while it filled")
        await #expect(server.terminate() == 0)
        let verify = try await ServerProcess.ares(["verify", "--data-dir", data.path])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }
}

/// A tmpfs of its own, mounted for one test and always unmounted after it.
struct SmallFileSystem {
    let directory: URL

    init(megabytes: Int) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-small-fs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let outcome = try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0700", "tmpfs", directory.path])
        guard outcome.status == 0 else {
            try? FileManager.default.removeItem(at: directory)
            throw Failure("""
                this test mounts a small tmpfs and needs root for it (CI runs as root): `mount -t tmpfs` failed \
                with status \(outcome.status): \(outcome.output)
                """)
        }
    }

    /// Fills the file system with one file, until a write fails for lack of space; returns it.
    func fill() throws -> URL {
        let file = directory.appendingPathComponent("filler")
        guard let stream = fopen(file.path, "w") else { throw Failure("cannot create \(file.path)") }
        defer { fclose(stream) }
        setvbuf(stream, nil, _IONBF, 0)
        for size in [1 << 20, 64 << 10, 4096, 512, 1] {
            let block = [UInt8](repeating: 0, count: size)
            while fwrite(block, 1, size, stream) == size {}
            clearerr(stream)
        }
        return file
    }

    func unmount() {
        if (try? Self.run("/bin/umount", [directory.path]))?.status != 0 {
            // Something still holds a file open (a server that did not exit): detach it anyway.
            _ = try? Self.run("/bin/umount", ["-l", directory.path])
        }
        try? FileManager.default.removeItem(at: directory)
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
