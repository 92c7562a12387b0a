import Agents
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Knowledge
import Logging
import ResearchCore
import Security
import Server
import Storage
import TaskService
import Testing

/// The request pipeline in process (HummingbirdTesting's router client): every route and
/// method against no credentials, a forged key, each role, and another principal's task. The
/// expected permissions are written out here, from docs/security.md, not read from the code.
@Suite(.serialized) struct AccessMatrixTests {
    enum Caller: String, CaseIterable {
        case nobody, forged, viewer, researcher, admin
        var rank: Int { [.nobody: -1, .forged: -1, .viewer: 0, .researcher: 1, .admin: 2][self] ?? -1 }
    }

    struct Fixture {
        var app: any ApplicationProtocol
        var keys: [Caller: String]
        var bob: String
        var directory: URL
    }

    private static func fixture() throws -> Fixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-matrix-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let knowledge = try KnowledgeBase(dataDirectory: directory, embedder: HashingEmbedder(), access: .readWrite)
        let store = try SQLiteEventStore(path: directory.appendingPathComponent("tasks.sqlite").path)
        let agents = ResearchAgents(planner: HeuristicPlanner(), researcher: RetrievalResearcher(retriever: knowledge),
                                    evaluator: CoverageEvaluator(), synthesizer: ExtractiveSynthesizer(), checker: QuotationCitationChecker())
        let service = ResearchTaskService(store: store, workflow: ResearchWorkflow(agents: agents))
        let runner = TaskRunner(directory: TaskDirectory(service: service), limits: .init())
        let keyStore = try APIKeyStore(path: directory.appendingPathComponent("access.sqlite").path)
        var keys: [Caller: String] = [:]
        for (caller, role) in [(Caller.viewer, Role.viewer), (.researcher, .researcher), (.admin, .admin)] {
            keys[caller] = try keyStore.create(role: role, name: caller.rawValue).token.text
        }
        let bob = try keyStore.create(role: .researcher, name: "bob").token.text
        keys[.forged] = "ares_0123456789ab_" + String(repeating: "A", count: 43)
        let validator = PushNotificationConfigValidator(allowsPrivateAddresses: false)
        let components = ServerComponents(
            runner: runner, pushConfigs: PushNotificationConfigStore(store: store, validate: validator.validate), knowledge: knowledge,
            access: AccessControl(authenticator: try APIKeyAuthenticator(store: keyStore), developmentMode: false),
            metrics: ServerMetrics(), logger: Logger(label: "matrix-test"))
        let app = AresServer.makeApplication(configuration: ServerConfiguration(port: 0), components: components)
        return Fixture(app: app, keys: keys, bob: bob, directory: directory)
    }

    private static func headers(_ key: String?, json: Bool = true) -> HTTPFields {
        var fields: HTTPFields = [.init("A2A-Version")!: "1.0"]
        if json { fields[.contentType] = "application/json" }
        if let key { fields[.authorization] = "Bearer \(key)" }
        return fields
    }

    private static func rpc(_ method: String, _ params: [String: Any]) throws -> ByteBuffer {
        ByteBuffer(data: try JSONSerialization.data(withJSONObject: ["jsonrpc": "2.0", "id": 1, "method": method, "params": params]))
    }

    private static func json(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
    }

    private static var question: [String: Any] { [
        "message": ["messageId": "m", "role": "ROLE_USER", "parts": [["text": "How are tasks resumed?"]]],
        "configuration": ["returnImmediately": true],
    ] }

    @Test func everyMethodAndRouteIsDeniedUnlessTheRoleAllowsIt() async throws {
        let fixture = try Self.fixture()
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let keys = fixture.keys
        try await fixture.app.test(.router) { client in
            let own = try #require(value(Self.json(try await client.execute(uri: "/a2a", method: .post, headers: Self.headers(keys[.researcher]),
                                                                            body: try Self.rpc("SendMessage", Self.question))), "result", "task", "id") as? String)
            // JSON-RPC methods: the lowest role that may call each.
            let methods: [(String, [String: Any], Int)] = [
                ("SendMessage", Self.question, 1), ("GetTask", ["id": own], 0), ("ListTasks", [:], 0), ("CancelTask", ["id": "task-none"], 1),
                ("CreateTaskPushNotificationConfig", ["taskId": own, "url": "http://93.184.216.34/h"], 1),
                ("GetTaskPushNotificationConfig", ["taskId": own, "id": "p"], 0), ("ListTaskPushNotificationConfigs", ["taskId": own], 0),
                ("DeleteTaskPushNotificationConfig", ["taskId": own, "id": "p"], 1), ("GetExtendedAgentCard", [:], 0),
                ("ares/search", ["query": "tasks"], 0), ("ares/ingest", ["paths": ["/nonexistent"]], 2), ("ares/taskEvents", ["id": own], 0),
                ("ares/verifyTask", ["id": own], 0), ("ares/whoami", [:], 0), ("ares/listDocuments", [:], 0),
                ("ares/uploadDocuments", ["documents": []], 2), ("ares/listKeys", [:], 2), ("ares/createKey", ["role": "viewer"], 2),
                ("ares/revokeKey", ["id": "000000000000"], 2),
            ]
            for (method, params, minimum) in methods {
                for caller in Caller.allCases {
                    let response = try await client.execute(uri: "/a2a", method: .post, headers: Self.headers(keys[caller]), body: try Self.rpc(method, params))
                    let code = value(Self.json(response), "error", "code") as? Int
                    switch caller.rank {
                    case -1:
                        #expect(response.status == .unauthorized && code == -32040, "\(method) as \(caller): \(response.status)")
                    case let rank where rank < minimum:
                        #expect(response.status == .forbidden && code == -32041, "\(method) as \(caller): \(response.status)")
                    default:
                        #expect(response.status != .unauthorized && response.status != .forbidden, "\(method) as \(caller) was refused")
                    }
                }
            }
            // The HTTP+JSON binding: the same rules by path.
            let rest: [(HTTPRequest.Method, String, [String: Any]?, Int)] = [
                (.post, "/rest/message:send", Self.question, 1), (.get, "/rest/tasks", nil, 0), (.get, "/rest/tasks/\(own)", nil, 0),
                (.post, "/rest/tasks/task-none:cancel", [:], 1), (.get, "/rest/tasks/\(own)/pushNotificationConfigs", nil, 0),
                (.post, "/rest/tasks/\(own)/pushNotificationConfigs", ["url": "http://93.184.216.34/h"], 1),
                (.get, "/rest/tasks/\(own)/pushNotificationConfigs/p", nil, 0), (.delete, "/rest/tasks/\(own)/pushNotificationConfigs/p", nil, 1),
                (.get, "/rest/extendedAgentCard", nil, 0),
            ]
            for (method, path, body, minimum) in rest {
                for caller in Caller.allCases {
                    let buffer = try body.map { ByteBuffer(data: try JSONSerialization.data(withJSONObject: $0)) }
                    let response = try await client.execute(uri: path, method: method, headers: Self.headers(keys[caller], json: body != nil), body: buffer)
                    switch caller.rank {
                    case -1: #expect(response.status == .unauthorized, "\(method) \(path) as \(caller): \(response.status)")
                    case let rank where rank < minimum: #expect(response.status == .forbidden, "\(method) \(path) as \(caller): \(response.status)")
                    default: #expect(response.status != .unauthorized && response.status != .forbidden, "\(method) \(path) as \(caller)")
                    }
                }
            }
            // MCP: the handshake and listing for anyone authenticated, each tool by its permission.
            let mcp: [([String: Any], Int)] = [
                (["jsonrpc": "2.0", "id": 1, "method": "initialize", "params": ["protocolVersion": "2025-06-18"]], 0),
                (["jsonrpc": "2.0", "id": 1, "method": "tools/list"], 0),
                (["jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": ["name": "search_knowledge", "arguments": ["query": "x"]]], 0),
                (["jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": ["name": "get_task", "arguments": ["taskId": own]]], 0),
                (["jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": ["name": "research", "arguments": ["question": ""]]], 1),
            ]
            for (message, minimum) in mcp {
                for caller in Caller.allCases {
                    let response = try await client.execute(uri: "/mcp", method: .post, headers: Self.headers(keys[caller]),
                                                            body: ByteBuffer(data: try JSONSerialization.data(withJSONObject: message)))
                    let code = value(Self.json(response), "error", "code") as? Int
                    switch caller.rank {
                    case -1: #expect(response.status == .unauthorized && code == -32040, "MCP \(message) as \(caller)")
                    case let rank where rank < minimum: #expect(response.status == .forbidden && code == -32041, "MCP \(message) as \(caller)")
                    default: #expect(response.status == .ok && code == nil, "MCP \(message) as \(caller): \(response.status)")
                    }
                }
            }
            // Metrics need a key; health and the card are public.
            for caller in Caller.allCases {
                let response = try await client.execute(uri: "/metrics", method: .get, headers: Self.headers(keys[caller], json: false))
                #expect(response.status == (caller.rank >= 0 ? .ok : .unauthorized), "/metrics as \(caller)")
                for path in ["/health/live", "/health/ready", "/.well-known/agent-card.json"] {
                    #expect(try await client.execute(uri: path, method: .get, headers: Self.headers(keys[caller], json: false)).status == .ok)
                }
            }
        }
    }

    @Test func anotherPrincipalsTaskDoesNotExistForThem() async throws {
        let fixture = try Self.fixture()
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let alice = try #require(fixture.keys[.researcher]), bob = fixture.bob, admin = try #require(fixture.keys[.admin])
        try await fixture.app.test(.router) { client in
            let task = try #require(value(Self.json(try await client.execute(uri: "/a2a", method: .post, headers: Self.headers(alice),
                                                                             body: try Self.rpc("SendMessage", Self.question))), "result", "task", "id") as? String)
            for (method, params) in [("GetTask", ["id": task]), ("CancelTask", ["id": task]), ("SubscribeToTask", ["id": task]),
                                     ("ares/taskEvents", ["id": task]), ("ListTaskPushNotificationConfigs", ["taskId": task]),
                                     ("CreateTaskPushNotificationConfig", ["taskId": task, "url": "http://93.184.216.34/h"])] as [(String, [String: Any])] {
                let response = try await client.execute(uri: "/a2a", method: .post, headers: Self.headers(bob), body: try Self.rpc(method, params))
                #expect(value(Self.json(response), "error", "code") as? Int == -32001, "bob's \(method) on alice's task: \(Self.json(response))")
            }
            let listed = Self.json(try await client.execute(uri: "/a2a", method: .post, headers: Self.headers(bob), body: try Self.rpc("ListTasks", [:])))
            #expect(value(listed, "result", "totalSize") as? Int == 0)
            #expect(try await client.execute(uri: "/rest/tasks/\(task)", method: .get, headers: Self.headers(bob, json: false)).status == .notFound)
            let mcp = try await client.execute(uri: "/mcp", method: .post, headers: Self.headers(bob), body: ByteBuffer(data: try JSONSerialization.data(withJSONObject: [
                "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": ["name": "get_task", "arguments": ["taskId": task]]])))
            #expect(value(Self.json(mcp), "result", "isError") as? Bool == true)
            // The admin sees it; so does its owner.
            for key in [admin, alice] {
                let seen = Self.json(try await client.execute(uri: "/a2a", method: .post, headers: Self.headers(key), body: try Self.rpc("GetTask", ["id": task])))
                #expect(value(seen, "result", "id") as? String == task)
            }
        }
    }
}
