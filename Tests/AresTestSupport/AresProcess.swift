import Foundation

/// Runs the real `ares` binary built by `swift build` as a child process: shared by the
/// command-line and server tests.
public struct AresProcess {
    public struct Outcome: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// The binary next to the test bundle (both live in the build folder), or `$ARES_BINARY`.
    public static var binary: URL {
        if let override = ProcessInfo.processInfo.environment["ARES_BINARY"] { return URL(fileURLWithPath: override) }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("ares")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.appendingPathComponent(".build/debug/ares")
    }

    /// Runs `ares` with `arguments` (in `directory`, else the current one) to its end; the
    /// caller's `ARES_DATA_DIR` is not passed on.
    public static func run(_ arguments: [String], in directory: URL? = nil, environment extra: [String: String] = [:]) throws -> Outcome {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "ARES_DATA_DIR")
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes to the end before waiting, so a chatty child never blocks on a full pipe.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let outcome = Outcome(status: process.terminationStatus,
                              stdout: String(decoding: outData, as: UTF8.self),
                              stderr: String(decoding: errData, as: UTF8.self))
        TestRunRecord.recordOutput(arguments: arguments, stdout: outcome.stdout, stderr: outcome.stderr)
        return outcome
    }

    /// The same from an async function (which the compiler picks there): the wait for the
    /// child runs on a thread of its own (`BlockingWork`), not on one of the cooperative pool's
    /// two, which the parallel test run's in-process tests need for their leases and timeouts.
    public static func run(_ arguments: [String], in directory: URL? = nil, environment extra: [String: String] = [:]) async throws -> Outcome {
        try await BlockingWork.run { try run(arguments, in: directory, environment: extra) }
    }
}
