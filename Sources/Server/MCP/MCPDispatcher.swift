import Foundation
import Logging
import Security

/// The MCP server side, shared by stdio (`ares mcp`) and streamable HTTP (`/mcp`): the
/// handshake, ping, tools/list and tools/call. Anything else, `server/discover` included, is
/// -32601, so that a newer client falls back to `initialize`.
public struct MCPDispatcher: Sendable {
    public static let supportedVersions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
    public var tools: MCPTools
    public var version: String
    public var maximumNestingDepth: Int
    /// Where unexpected errors are logged (clients get a reference, not the text).
    public var logger: Logger

    public init(tools: MCPTools, version: String, maximumNestingDepth: Int = 32, logger: Logger = Logger(label: "ares")) {
        self.logger = logger
        self.tools = tools
        self.version = version
        self.maximumNestingDepth = maximumNestingDepth
    }

    /// What one incoming message asks for, parsed far enough to route and authorize it.
    public struct Incoming: Sendable {
        public var id: JSONValue
        public var method: String
        public var isNotification: Bool
        /// The tool a tools/call names (for its permission), if any.
        public var toolName: String?
        var params: JSONValue?
    }

    /// Parses a message with the JSON-RPC envelope A2A uses too; a malformed one is an error
    /// response to send back.
    public func parse(_ body: Data) -> Result<Incoming, JSONRPCError> {
        let envelope: JSONRPCEnvelope
        do {
            envelope = try JSONRPCEnvelope.parse(body, maximumDepth: maximumNestingDepth)
        } catch {
            return .failure(error.error)
        }
        var params: JSONValue?
        if let data = envelope.params {
            guard let decoded = try? JSONDecoder().decode(JSONValue.self, from: data) else {
                return .failure(.invalidParams("params cannot be read"))
            }
            params = decoded
        }
        let toolName = envelope.method == "tools/call" ? params?.objectValue?["name"]?.stringValue : nil
        return .success(Incoming(id: envelope.id, method: envelope.method, isNotification: envelope.isNotification,
                                 toolName: toolName, params: params))
    }

    /// The permission a message needs; nil: any authenticated principal (handshake, listing).
    public func permission(for incoming: Incoming) -> Permission? {
        incoming.method == "tools/call" ? incoming.toolName.flatMap(MCPTools.permission) : nil
    }

    /// Answers one message; nil for notifications.
    public func handle(_ incoming: Incoming, principal: Principal) async -> Data? {
        guard !incoming.isNotification else { return nil }
        do {
            let result = try await result(for: incoming, principal: principal)
            return JSONRPCResponseWriter.result(id: incoming.id, result: try JSONRPCResponseWriter.encode(result))
        } catch {
            return JSONRPCResponseWriter.error(id: incoming.id, error: .unexpected(error, logger: logger))
        }
    }

    private func result(for incoming: Incoming, principal: Principal) async throws -> JSONValue {
        switch incoming.method {
        case "initialize":
            let requested = incoming.params?.objectValue?["protocolVersion"]?.stringValue
            let version = requested.flatMap { Self.supportedVersions.contains($0) ? $0 : nil } ?? Self.supportedVersions[0]
            return .object([
                "protocolVersion": .string(version),
                "capabilities": .object(["tools": .object(["listChanged": .bool(false)])]),
                "serverInfo": .object(["name": .string("ares"), "title": .string("ares research engine"), "version": .string(self.version)]),
                "instructions": .string("Use `research` for a cited report on a question, `search_knowledge` to look up passages, `get_task` to read a task by id."),
            ])
        case "ping":
            return .object([:])
        case "tools/list":
            return .object(["tools": MCPTools.definitions])
        case "tools/call":
            guard let params = incoming.params?.objectValue, let name = params["name"]?.stringValue else {
                throw JSONRPCError.invalidParams("params.name: the tool to call is missing")
            }
            let arguments: [String: JSONValue]
            switch params["arguments"] {
            case nil, .null?: arguments = [:]
            case let .object(object)?: arguments = object
            default: throw JSONRPCError.invalidParams("params.arguments: must be an object")
            }
            return try await tools.call(name, arguments: arguments, principal: principal).json
        default:
            throw JSONRPCError(code: JSONRPCError.Code.methodNotFound, message: "Method not found: \(incoming.method.prefix(100)) (ares serves initialize, ping, tools/list, tools/call)")
        }
    }
}
