import ArgumentParser
import AresComposition
import Foundation
import Logging
import Security
import Server

/// `ares mcp`: an MCP server on standard input and output (one JSON-RPC message per line),
/// for assistants that start ares as a local tool. Logs go to standard error. The local user
/// already owns the data directory, so requests act as the local admin.
struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve MCP over stdio: tools research, search_knowledge and get_task."
    )

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var embedding: EmbedderOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var relevance: RelevanceOptions

    static let localPrincipal = Principal(id: "local-stdio", name: "local user (MCP over stdio)", role: .admin)
    static let maximumInFlight = 16

    func run() async throws {
        try await Console.reportingErrors {
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: .warning) }
            let logger = Logger(label: "ares-mcp")
            let environment = try await ServerEnvironment.open(
                try AresConfiguration.load(data, embedding, model, relevance), limits: .init(), developmentMode: false, allowPrivateWebhooks: false,
                knowledgeAccess: .readOnly, logger: logger, warning: Console.warning)
            let dispatcher = MCPDispatcher(tools: MCPTools(runner: environment.components.runner, knowledge: environment.components.knowledge),
                                           version: AresVersion.current)
            let output = StandardOutputLines()
            // A client that goes away must not kill the process with SIGPIPE mid-answer.
            signal(SIGPIPE, SIG_IGN)
            let runner = environment.components.runner
            // The task runner works beside the message loop; at the end of input, once every
            // message is answered, it is stopped (running tasks reach a recorded step).
            async let running: Void = runner.run()
            await withTaskGroup(of: Void.self) { group in
                var inFlight = 0
                for await line in StandardInputLines.lines() where !line.isEmpty {
                    // At most `maximumInFlight` messages are worked on at once; the next line
                    // is read when one of them is answered.
                    if inFlight >= Self.maximumInFlight {
                        await group.next()
                        inFlight -= 1
                    }
                    inFlight += 1
                    group.addTask {
                        switch dispatcher.parse(Data(line.utf8)) {
                        case let .success(incoming):
                            if let answer = await dispatcher.handle(incoming, principal: Self.localPrincipal) { output.write(answer) }
                        case let .failure(error):
                            output.write(JSONRPCResponseWriter.error(id: .null, error: error))
                        }
                    }
                }
                await group.waitForAll()
            }
            runner.stop()
            await running
        }
    }
}

/// Lines of standard input, read on a thread of their own (reading blocks), ending at EOF.
enum StandardInputLines {
    static func lines() -> AsyncStream<String> {
        AsyncStream { continuation in
            let thread = Thread {
                while let line = readLine(strippingNewline: true) { continuation.yield(line) }
                continuation.finish()
            }
            thread.start()
        }
    }
}

/// Writes one message per line to standard output, whole lines only, flushed at once.
final class StandardOutputLines: Sendable {
    private let lock = NSLock()

    func write(_ message: Data) {
        var line = message
        line.append(UInt8(ascii: "\n"))
        // `write(_: Data)` traps when the reader is gone; a vanished client is not worth the process.
        lock.withLock { _ = try? FileHandle.standardOutput.write(contentsOf: line) }
    }
}
