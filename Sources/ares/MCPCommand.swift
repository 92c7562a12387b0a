import ArgumentParser
import AresComposition
import Foundation
import Logging
import Security
import Server
import ServiceLifecycle

/// `ares mcp`: an MCP server on standard input and output (one JSON-RPC message per line),
/// for assistants that start ares as a local tool. Logs go to standard error. The local user
/// already owns the data directory, so requests act as the local admin.
struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve MCP over stdio: tools research, search_knowledge and get_task.",
        discussion: """
            With --database (or $ARES_DATABASE_URL), the tasks and the knowledge base are the shared \
            PostgreSQL database's, as for `ares serve --database`: this process is one more replica. It \
            waits for the database before reading messages, and its tasks are claimed and taken over \
            like any replica's.
            """
    )

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var embedding: EmbedderOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var relevance: RelevanceOptions
    @OptionGroup var database: DatabaseConnectionOptions
    @OptionGroup var replica: ReplicaOptions

    static let localPrincipal = Principal(id: "local-stdio", name: "local user (MCP over stdio)", role: .admin)

    func run() async throws {
        try await Console.reportingErrors {
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: .warning) }
            let logger = Logger(label: "ares-mcp")
            let configuration = try AresConfiguration.load(data, embedding, model, database, replica, relevance)
            try configuration.refuseEmbeddedOnlySettingsWithDatabase()
            let environment = try await ServerEnvironment.open(
                configuration, limits: .init(), developmentMode: false, allowPrivateWebhooks: false,
                knowledgeAccess: .readOnly, logger: logger, clientsAuthenticate: false, warning: Console.warning)
            let components = environment.components
            let dispatcher = MCPDispatcher(tools: MCPTools(runner: components.runner, knowledge: components.knowledge),
                                           version: AresVersion.current)
            // A client that goes away must not kill the process with SIGPIPE mid-answer.
            signal(SIGPIPE, SIG_IGN)
            let messages = MCPStandardIOService(dispatcher: dispatcher, principal: Self.localPrincipal,
                                                readinessChecks: components.readinessChecks, logger: logger)
            // Started in this order, stopped in reverse: the database's pool first (everything
            // else uses it), the background services, the task runner, the message loop last.
            // The end of input ends the loop, and with it the group.
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
            services += environment.leadingServices.map { .init(service: $0) }
            services += components.backgroundServices.map { .init(service: $0) }
            services.append(.init(service: components.runner))
            services.append(.init(service: messages, successTerminationBehavior: .gracefullyShutdownGroup,
                                  failureTerminationBehavior: .gracefullyShutdownGroup))
            let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
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
