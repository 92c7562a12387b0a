import Foundation
import Knowledge
import ResearchCore
import Security
import Storage
import TaskService

/// ares's own JSON-RPC methods on the A2A endpoint: search the knowledge base, ingest files
/// on the server's disk (admin), and read a task's recorded events.
public struct AresMethods: Sendable {
    public var runner: TaskRunner
    public var knowledge: KnowledgeBase

    public init(runner: TaskRunner, knowledge: KnowledgeBase) {
        self.runner = runner
        self.knowledge = knowledge
    }

    struct SearchParams: Decodable {
        var query: String
        var limit: Int?
        var mode: SearchMode?
    }

    struct IngestParams: Decodable {
        var paths: [String]
        var prune: Bool?
    }

    struct TaskEventsParams: Decodable {
        var id: String
        var afterVersion: Int64?
    }

    struct TaskEventsResult: Encodable {
        struct Event: Encodable {
            var version: Int64
            var type: String
            var recordedAt: String
            var hash: String
            var event: TaskEvent
        }
        var taskId: String
        var events: [Event]
    }

    public var methods: [JSONRPCMethod] {
        [
            JSONRPCMethod("ares/search", permission: .search) { request in
                let params = try request.params(SearchParams.self)
                let results = try await Self.search(params, in: knowledge)
                return .result(try JSONRPCResponseWriter.encode(results))
            },
            JSONRPCMethod("ares/ingest", permission: .ingest) { request in
                let params = try request.params(IngestParams.self)
                guard !params.paths.isEmpty, params.paths.count <= 1000 else {
                    throw JSONRPCError.invalidParams("paths: give between 1 and 1000 files or folders on the server's disk")
                }
                if let missing = params.paths.first(where: { !FileManager.default.fileExists(atPath: $0) }) {
                    throw JSONRPCError.invalidParams("paths: '\(missing.prefix(300))' does not exist on the server")
                }
                let summary = try await knowledge.ingest(params.paths, prune: params.prune ?? false)
                return .result(try JSONRPCResponseWriter.encode(summary))
            },
            JSONRPCMethod("ares/taskEvents", permission: .readTasks) { request in
                let params = try request.params(TaskEventsParams.self)
                guard params.id.hasPrefix("task-"), params.id.utf8.count <= 100 else { throw A2AError.taskNotFound(String(params.id.prefix(100))) }
                let service = runner.service
                let events: [(stored: StoredEvent, event: TaskEvent)]
                do {
                    events = try await service.events(of: params.id)
                } catch ResearchTaskError.unknownTask {
                    throw A2AError.taskNotFound(params.id)
                }
                guard case let .submitted(_, owner, _)? = events.first?.event, request.principal.mayAccess(taskOwnedBy: owner) else {
                    throw A2AError.taskNotFound(params.id)
                }
                let after = params.afterVersion ?? 0
                let result = TaskEventsResult(taskId: params.id, events: events.filter { $0.stored.version > after }.map {
                    .init(version: $0.stored.version, type: $0.stored.type, recordedAt: A2ATaskMapper.timestamp($0.stored.recordedAt),
                          hash: $0.stored.hash, event: $0.event)
                })
                return .result(try JSONRPCResponseWriter.encode(result))
            },
        ]
    }

    static func search(_ params: SearchParams, in knowledge: KnowledgeBase) async throws -> SearchResultsDocument {
        let query = params.query.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !query.isEmpty else { throw JSONRPCError.invalidParams("query: must not be empty") }
        guard query.count <= 1000 else { throw JSONRPCError.invalidParams("query: longer than 1000 characters") }
        let limit = params.limit ?? 5
        guard (1...50).contains(limit) else { throw JSONRPCError.invalidParams("limit: must be between 1 and 50 (got \(limit))") }
        let mode = params.mode ?? .hybrid
        return SearchResultsDocument(query: query, mode: mode, results: try await knowledge.search(query, limit: limit, mode: mode), sharedSources: true)
    }
}
