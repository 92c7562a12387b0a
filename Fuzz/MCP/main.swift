// fuzz-mcp: MCP messages as `/mcp` and `ares mcp` handle them: MCPDispatcher.parse, the
// permission check MCPEndpoint makes, then MCPDispatcher.handle with the real MCPTools
// (`research`, `search_knowledge`, `get_task`) over the real components (FuzzServer).
//
// Input: one control byte (bits 0-1: the caller, 0 admin, 1 researcher, 2 viewer), then the
// message. Seeds start with '0' (admin). Placeholders such as @T0@ name the fixture tasks.
import Foundation
import FuzzServerSupport
import FuzzSupport
import Security
import Server

final class MCPFuzzTarget: FuzzTarget, @unchecked Sendable {
    private var server: FuzzServer
    private var dispatcher: MCPDispatcher
    static let submissionsPerEnvironment = 150

    init() {
        (server, dispatcher) = runBlocking { try! await Self.makeEnvironment() }
    }

    static func makeEnvironment() async throws -> (FuzzServer, MCPDispatcher) {
        let server = try await FuzzServer.open()
        // As AresServer.makeApplication mounts it (a shorter research timeout).
        let tools = MCPTools(runner: server.runner, knowledge: server.knowledge, quotas: server.configuration.principalQuotas,
                             researchTimeout: .seconds(10))
        return (server, MCPDispatcher(tools: tools, version: "fuzz", maximumNestingDepth: server.configuration.maximumNestingDepth,
                                      logger: server.logger))
    }

    func run(_ input: UnsafeRawBufferPointer) {
        guard let control = input.first else { return }
        let server = self.server, dispatcher = self.dispatcher
        let principal = [server.admin, server.researcher, server.viewer, server.viewer][Int(control & 0x3)]
        let body = Data(server.substitute(Array(input.dropFirst())))
        let submitted = runBlocking { () -> Bool in
            let incoming: MCPDispatcher.Incoming
            switch dispatcher.parse(body) {
            case let .success(parsed): incoming = parsed
            case let .failure(error):
                requireJSONObject(JSONRPCResponseWriter.error(id: .null, error: error), "the parse error reply")
                return false
            }
            if let permission = dispatcher.permission(for: incoming), !principal.can(permission) { return false }
            if let answer = await dispatcher.handle(incoming, principal: principal) {
                requireJSONObject(answer, "the answer to \(incoming.method.prefix(40))")
            }
            await server.waitUntilIdle()
            return incoming.toolName == "research"
        }
        if submitted { server.submissions += 1 }
        if server.submissions >= Self.submissionsPerEnvironment {
            runBlocking { await server.close() }
            (self.server, self.dispatcher) = runBlocking { try! await Self.makeEnvironment() }
        }
    }
}

FuzzDriver.run(MCPFuzzTarget())
