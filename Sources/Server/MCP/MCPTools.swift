import Foundation
import Knowledge
import ResearchCore
import Security
import Storage
import TaskService

/// The MCP tools of ares: `research` (runs a task and returns its cited report),
/// `search_knowledge` and `get_task`. Argument problems come back as tool errors
/// (`isError`), so that a model can correct its call.
public struct MCPTools: Sendable {
    public var runner: TaskRunner
    public var knowledge: KnowledgeBase
    public var quotas: PrincipalTaskQuotas
    public var researchTimeout: Duration

    public init(runner: TaskRunner, knowledge: KnowledgeBase, quotas: PrincipalTaskQuotas = .init(), researchTimeout: Duration = .seconds(600)) {
        self.runner = runner
        self.knowledge = knowledge
        self.quotas = quotas
        self.researchTimeout = researchTimeout
    }

    /// A tool's result: text for people and models, and the same as a JSON object.
    struct Result {
        var text: String
        var structured: JSONValue?
        var isError = false

        var json: JSONValue {
            var object: [String: JSONValue] = [
                "content": .array([.object(["type": .string("text"), "text": .string(text)])]),
                "isError": .bool(isError),
            ]
            if let structured { object["structuredContent"] = structured }
            return .object(object)
        }

        static func error(_ message: String) -> Result { Result(text: message, structured: nil, isError: true) }
    }

    static let definitions: JSONValue = .array([
        tool("research", title: "Research a question",
             description: "Researches a question over the ares knowledge base with a team of agents (plan, parallel research, critique, synthesis, citation check) and returns a report in which every sentence is cited [n] to a numbered source passage.",
             properties: ["question": ["type": "string", "description": "The question, in natural words (at most 4000 characters).", "maxLength": 4000]],
             required: ["question"]),
        tool("search_knowledge", title: "Search the knowledge base",
             description: "Hybrid keyword and vector search over the ingested documents; returns the best passages with their sources.",
             properties: ["query": ["type": "string", "description": "What to look for."],
                          "limit": ["type": "integer", "minimum": 1, "maximum": 50, "default": 5]],
             required: ["query"]),
        tool("get_task", title: "Get a research task",
             description: "The state and, once finished, the report of a research task by id.",
             properties: ["taskId": ["type": "string", "description": "The id `research` returned."]],
             required: ["taskId"]),
    ])

    /// The permission each tool needs.
    static func permission(of tool: String) -> Permission? {
        switch tool {
        case "research": .submitTasks
        case "search_knowledge": .search
        case "get_task": .readTasks
        default: nil
        }
    }

    func call(_ name: String, arguments: [String: JSONValue], principal: Principal) async throws -> Result {
        switch name {
        case "research": return try await research(arguments, principal: principal)
        case "search_knowledge": return try await search(arguments)
        case "get_task": return try await getTask(arguments, principal: principal)
        default: throw JSONRPCError.invalidParams("name: there is no tool '\(name.prefix(100))' (tools: research, search_knowledge, get_task)")
        }
    }

    private func research(_ arguments: [String: JSONValue], principal: Principal) async throws -> Result {
        guard let question = arguments["question"]?.stringValue else {
            return .error("research needs the argument 'question' (a string)")
        }
        let snapshot: TaskSnapshot
        do {
            snapshot = try await runner.submit(question: question, principal: principal.id, quota: quotas.quota(for: principal.role), contextID: nil)
        } catch let error as ResearchTaskError {
            return .error("\(error)")
        } catch let refused as TaskAdmissionError {
            return .error("ares is busy (\(refused.description)); retry in \(refused.retryAfterSeconds) s")
        } catch let refused as StorageUnavailableError {
            return .error("ares cannot record new tasks right now (\(refused)); retry in \(StorageUnavailableError.retryAfterSeconds) s")
        }
        let ended = try await runner.directory.waitUntilEnded(snapshot.id, timeout: researchTimeout)
        return report(ended)
    }

    private func search(_ arguments: [String: JSONValue]) async throws -> Result {
        guard let query = arguments["query"]?.stringValue else { return .error("search_knowledge needs the argument 'query' (a string)") }
        var limit: Int?
        switch arguments["limit"] {
        case nil, .null?: limit = nil
        case let given?:
            // Exactly representable integers only: 1e300 or 2^63 must not reach a conversion that traps.
            guard let exact = given.exactInteger, (1...50).contains(exact) else {
                return .error("search_knowledge: 'limit' must be an integer between 1 and 50")
            }
            limit = exact
        }
        let document: SearchResultsDocument
        do {
            document = try await AresMethods.search(.init(query: query, limit: limit, mode: nil), in: knowledge)
        } catch let error as JSONRPCError {
            return .error("search_knowledge: \(error.message)")
        }
        let lines = document.results.enumerated().map { index, result in
            "[\(index + 1)] \(result.title) — \(result.source) (\(result.chunkId), score \(String(format: "%.3f", result.score)))\n\(result.text)"
        }
        return Result(text: lines.isEmpty ? "No passages match \"\(query)\"." : lines.joined(separator: "\n\n"),
                      structured: try JSONValue.encoding(document))
    }

    private func getTask(_ arguments: [String: JSONValue], principal: Principal) async throws -> Result {
        guard let id = arguments["taskId"]?.stringValue else { return .error("get_task needs the argument 'taskId' (a string)") }
        guard id.hasPrefix("task-"), id.utf8.count <= 100 else { return .error("there is no task '\(id.prefix(100))'") }
        let snapshot: TaskSnapshot
        do {
            snapshot = try await runner.directory.snapshot(of: id)
        } catch ResearchTaskError.unknownTask {
            return .error("there is no task '\(id.prefix(100))'")
        } catch let ResearchTaskError.prunedTask(summary) {
            guard principal.mayAccess(taskOwnedBy: summary.owner) else { return .error("there is no task '\(id.prefix(100))'") }
            return .error("\(summary); only this summary remains")
        }
        guard principal.mayAccess(taskOwnedBy: snapshot.state.principal) else { return .error("there is no task '\(id.prefix(100))'") }
        return report(snapshot)
    }

    private func report(_ snapshot: TaskSnapshot) -> Result {
        let document = TaskReportJSON.document(taskID: snapshot.id, state: snapshot.state, totalMilliseconds: nil)
        let structured = try? JSONValue.encoding(document)
        let state = snapshot.state
        let text: String
        if let report = state.report, state.phase == .completed {
            text = report.markdown
        } else {
            text = "Task \(snapshot.id) is \(state.phase?.rawValue ?? "submitted")" + (state.endReason.map { ": \($0)" } ?? ".")
        }
        return Result(text: text, structured: structured, isError: state.phase == .failed || state.phase == .canceled)
    }

    private static func tool(_ name: String, title: String, description: String, properties: [String: [String: Any]], required: [String]) -> JSONValue {
        .object([
            "name": .string(name), "title": .string(title), "description": .string(description),
            "inputSchema": .object([
                "type": .string("object"),
                "properties": .object(properties.mapValues { schema in .object(schema.mapValues(json)) }),
                "required": .array(required.map(JSONValue.string)),
            ]),
        ])
    }

    private static func json(_ value: Any) -> JSONValue {
        switch value {
        case let text as String: .string(text)
        case let number as Int: .integer(Int64(number))
        default: .null
        }
    }
}
