import AresTestSupport
import Foundation
import Testing

/// ares driven by real third-party clients from PyPI: the official A2A SDK (`a2a-sdk`) and
/// the MCP SDK (`mcp`), installed by `scripts/install-interop-clients.sh` (run by .ci/run).
@Suite(.serialized) struct InteropTests {
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The interpreter with the clients installed; a missing one fails the test, saying how to install it.
    static func python() throws -> String {
        let path = ProcessInfo.processInfo.environment["ARES_INTEROP_PYTHON"]
            ?? repository.appendingPathComponent(".venv-interop/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ServerProcess.Failure("no interop Python at \(path): run `bash scripts/install-interop-clients.sh` (or set ARES_INTEROP_PYTHON)")
        }
        return path
    }

    static func script(_ name: String) -> String {
        repository.appendingPathComponent("Tests/ServerTests/Interop/\(name)").path
    }

    /// Runs a client script; returns its status and everything it printed.
    /// `environment`: added to this process's own (the database of a data directory on PostgreSQL).
    static func run(_ arguments: [String], timeout: TimeInterval = 180,
                    environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try python())
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, added in added }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let killer = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        killer.cancel()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test func theA2ASDKClientSendsStreamsCancelsAndReceivesPushNotifications() throws {
        let data = try ServerProcess.makeDataDirectory()
        let key = try ServerProcess.createKey(role: "researcher", in: data)
        // The client's webhook listens on loopback, which a server only posts to when allowed.
        let server = try ServerProcess(dataDirectory: data, arguments: ["--allow-private-webhooks"])
        let (status, output) = try Self.run([Self.script("a2a_client.py"), "--url", server.baseURL, "--api-key", key, "--expect-report"])
        #expect(status == 0, "\(output)")
        for check in ["send_blocking", "send_nonblocking+get_task", "send_streaming", "cancel_task", "push_inline", "push_config_delivery"] {
            #expect(output.contains("PASS \(check)"), "\(check) did not pass:\n\(output)")
        }
        #expect(output.contains("SUMMARY pass=13 fail=0"), "\(output)")
    }

    @Test func theA2ASDKClientWithoutAKeyIsRefused() throws {
        let data = try ServerProcess.makeDataDirectory()
        _ = try ServerProcess.createKey(role: "researcher", in: data)
        let server = try ServerProcess(dataDirectory: data)
        let (status, output) = try Self.run([Self.script("a2a_client.py"), "--url", server.baseURL], timeout: 120)
        #expect(status != 0, "\(output)")
        #expect(output.contains("FAIL send_blocking"), "\(output)")
    }

    @Test func theMCPSDKClientResearchesOverStreamableHTTP() throws {
        let data = try ServerProcess.makeDataDirectory()
        let key = try ServerProcess.createKey(role: "researcher", in: data)
        let server = try ServerProcess(dataDirectory: data)
        let (status, output) = try Self.run([Self.script("mcp_client.py"), "--url", server.baseURL + "/mcp",
                                             "--header", "Authorization: Bearer \(key)", "--expect-citations"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("PASS: research text contains citation marker [n]"))
        #expect(server.log().contains(#""method":"mcp tools/call research""#))
    }

    @Test func theMCPSDKClientResearchesOverStdio() throws {
        let data = try ServerProcess.makeDataDirectory()
        let command = "\(ServerProcess.binary.path) mcp --data-dir \(data.path)"
        // On PostgreSQL (ARES_TEST_BACKEND) `ares mcp` is pointed at the directory's database
        // through its environment (the SDK passes the stdio child only a few variables unless told).
        let backend = TestBackend.environment(forDataDirectory: data)
        let (status, output) = try Self.run([Self.script("mcp_client.py"), "--stdio", command, "--expect-citations"]
                                                + (backend.isEmpty ? [] : ["--inherit-env"]),
                                            environment: backend)
        #expect(status == 0, "\(output)")
        #expect(output.contains("PASS: call get_task"))
    }

    @Test func theMCPSDKClientIsRefusedWithoutAKey() throws {
        let data = try ServerProcess.makeDataDirectory()
        _ = try ServerProcess.createKey(role: "researcher", in: data)
        let server = try ServerProcess(dataDirectory: data)
        let (status, output) = try Self.run([Self.script("mcp_client.py"), "--url", server.baseURL + "/mcp"], timeout: 60)
        #expect(status != 0, "\(output)")
    }
}
