import Foundation
import Security

/// The MCP server side, shared by stdio (`ares mcp`) and streamable HTTP (`/mcp`): the
/// handshake, ping, tools/list and tools/call. Anything else, `server/discover` included, is
/// -32601, so that a newer client falls back to `initialize`.
public struct MCPDispatcher: Sendable {
    public static let supportedVersions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
    public var tools: MCPTools
    public var version: String
    public var maximumNestingDepth: Int

    public init(tools: MCPTools, version: String, maximumNestingDepth: Int = 32) {
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

    private struct Envelope: Decodable {
        var jsonrpc: String?
        var id: JSONValue?
        var method: String?
        var params: JSONValue?
        var hasID: Bool

        enum CodingKeys: String, CodingKey { case jsonrpc, id, method, params }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            jsonrpc = try? container.decodeIfPresent(String.self, forKey: .jsonrpc)
            hasID = container.contains(.id)
            id = try container.decodeIfPresent(JSONValue.self, forKey: .id)
            method = try? container.decodeIfPresent(String.self, forKey: .method)
            params = try container.decodeIfPresent(JSONValue.self, forKey: .params)
        }
    }

    /// Parses a message; a malformed one is an error response to send back (or nil when it
    /// is a response from the client, which needs none).
    public func parse(_ body: Data) -> Result<Incoming, JSONRPCError> {
        do {
            switch try JSONRPCEndpoint.checkedTopLevel(body, maximumDepth: maximumNestingDepth) {
            case .object: break
            case .array: return .failure(.invalidRequest("batches (a JSON array) are not supported: send one message per request"))
            default: return .failure(.invalidRequest("expected one JSON-RPC message object"))
            }
        } catch {
            return .failure(error)
        }
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: body) else {
            return .failure(.invalidRequest("expected one JSON-RPC message object"))
        }
        guard envelope.jsonrpc == "2.0" else { return .failure(.invalidRequest("jsonrpc must be exactly \"2.0\"")) }
        guard let method = envelope.method else {
            return .failure(.invalidRequest("method is missing (responses to the server are not expected)"))
        }
        var toolName: String?
        if method == "tools/call" { toolName = envelope.params?.objectValue?["name"]?.stringValue }
        return .success(Incoming(id: envelope.id ?? .null, method: method, isNotification: !envelope.hasID,
                                 toolName: toolName, params: envelope.params))
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
        } catch let error as JSONRPCError {
            return JSONRPCResponseWriter.error(id: incoming.id, error: error)
        } catch {
            return JSONRPCResponseWriter.error(id: incoming.id, error: .internalError("\(error)"))
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
            throw JSONRPCError(code: -32601, message: "Method not found: \(incoming.method.prefix(100)) (ares serves initialize, ping, tools/list, tools/call)")
        }
    }
}
