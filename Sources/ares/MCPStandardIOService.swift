import Foundation
import Logging
import Security
import Server
import ServiceLifecycle

/// `ares mcp`'s message loop, as the last service of its group: it waits until the stores are
/// ready (on a shared database: connected, migrated, the knowledge base loaded), then answers
/// one JSON-RPC message per line of standard input until the input ends or the group shuts
/// down (SIGTERM, SIGINT). It then returns once every message read is answered, and the group
/// stops the rest in reverse order: the task runner (running tasks reach a recorded step),
/// the background services, the database's pool.
struct MCPStandardIOService: Service {
    let dispatcher: MCPDispatcher
    let principal: Principal
    let readinessChecks: [ReadinessCheck]
    let logger: Logger

    /// At most this many messages are worked on at once; the next line is read when one of
    /// them is answered.
    static let maximumInFlight = 16
    /// How long the loop waits for the stores before it answers anyway (requests that need an
    /// unready store then get a retryable error that says why).
    static let readinessWait = Duration.seconds(120)

    func run() async throws {
        await waitUntilReady()
        let output = StandardOutputLines()
        let dispatcher = self.dispatcher
        let principal = self.principal
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for await line in StandardInputLines.lines().cancelOnGracefulShutdown() where !line.isEmpty {
                if inFlight >= Self.maximumInFlight {
                    await group.next()
                    inFlight -= 1
                }
                inFlight += 1
                group.addTask {
                    switch dispatcher.parse(Data(line.utf8)) {
                    case let .success(incoming):
                        if let answer = await dispatcher.handle(incoming, principal: principal) { output.write(answer) }
                    case let .failure(error):
                        output.write(JSONRPCResponseWriter.error(id: .null, error: error))
                    }
                }
            }
            await group.waitForAll()
        }
    }

    /// Polls the readiness checks (none on the embedded store) until all pass, saying once on
    /// standard error what it waits for.
    private func waitUntilReady() async {
        guard !readinessChecks.isEmpty else { return }
        let deadline = ContinuousClock.now + Self.readinessWait
        var said = false
        while true {
            var waitingFor: [String] = []
            for check in readinessChecks {
                let outcome = await check.check()
                if !outcome.ready { waitingFor.append("\(check.name): \(outcome.detail)") }
            }
            if waitingFor.isEmpty { return }
            guard ContinuousClock.now < deadline else {
                logger.warning("answering before the stores are ready; requests that need them get a retryable error",
                               metadata: ["waitingFor": .string(waitingFor.joined(separator: "; "))])
                return
            }
            if !said {
                logger.notice("waiting for the stores before reading messages", metadata: ["waitingFor": .string(waitingFor.joined(separator: "; "))])
                said = true
            }
            do {
                try await Task.sleep(for: .milliseconds(100))
            } catch {
                return
            }
        }
    }
}
