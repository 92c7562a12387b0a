import Audit
import Foundation
import Knowledge
import ResearchCore
import Security
import Storage
import TaskService

/// ares's own JSON-RPC methods on the A2A endpoint: search the knowledge base, ingest files
/// on the server's disk (admin), read a task's recorded events and verify its hash chain.
public struct AresMethods: Sendable {
    public var runner: TaskRunner
    public var knowledge: KnowledgeBase
    /// The API keys that `ares/listKeys`, `ares/createKey` and `ares/revokeKey` manage.
    public var keyStore: (any APIKeyRepository)?

    public init(runner: TaskRunner, knowledge: KnowledgeBase, keyStore: (any APIKeyRepository)? = nil) {
        self.runner = runner
        self.knowledge = knowledge
        self.keyStore = keyStore
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

    /// These methods, who-am-I and the keys (`AresAccountMethods`), and the document library
    /// (`AresLibraryMethods`).
    public var methods: [JSONRPCMethod] {
        taskAndSearchMethods + AresAccountMethods(keyStore: keyStore).methods + AresLibraryMethods(knowledge: knowledge).methods
    }

    private var taskAndSearchMethods: [JSONRPCMethod] {
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
                // What the audit trail keeps of it: which paths (the first few), and what changed.
                AuditNotes.current?.add(["paths": params.paths.prefix(10).joined(separator: ", "), "pathCount": String(params.paths.count),
                                         "prune": String(params.prune ?? false)])
                let summary: IngestSummary
                do {
                    summary = try await knowledge.ingest(params.paths, prune: params.prune ?? false)
                } catch let KnowledgeBaseError.invalidArgument(message) {
                    // The request asked for what this knowledge base cannot do (prune a shared one).
                    throw JSONRPCError.invalidParams(message)
                }
                AuditNotes.current?.add(["added": String(summary.added), "updated": String(summary.updated), "removed": String(summary.removed)])
                return .result(try JSONRPCResponseWriter.encode(summary))
            },
            JSONRPCMethod("ares/taskEvents", permission: .readTasks) { request in
                let params = try request.params(TaskEventsParams.self)
                let events = try await visibleEvents(params.id, principal: request.principal)
                let after = params.afterVersion ?? 0
                let result = TaskEventsResult(taskId: params.id, events: events.filter { $0.stored.version > after }.map {
                    .init(version: $0.stored.version, type: $0.stored.type, recordedAt: A2ATaskMapper.timestamp($0.stored.recordedAt),
                          hash: $0.stored.hash, event: $0.event)
                })
                return .result(try JSONRPCResponseWriter.encode(result))
            },
            // Whether the task's recorded history is intact: its hash chain recomputed from the
            // stored events (what `ares verify` does for every stream, here for one task).
            JSONRPCMethod("ares/verifyTask", permission: .readTasks) { request in
                let params = try request.params(TaskEventsParams.self)
                let events = try await visibleEvents(params.id, principal: request.principal)
                let breaks = StreamChainVerification.breaks(in: events.map(\.stored))
                let result = TaskChainResult(taskId: params.id, events: events.count, intact: breaks.isEmpty,
                                             breaks: breaks.map { .init(version: $0.version, problem: $0.problem) },
                                             lastHash: events.last?.stored.hash ?? "")
                return .result(try JSONRPCResponseWriter.encode(result))
            },
        ]
    }

    struct TaskChainResult: Encodable {
        struct Break: Encodable {
            var version: Int64
            var problem: String
        }
        var taskId: String
        var events: Int
        var intact: Bool
        var breaks: [Break]
        var lastHash: String
    }

    /// The task's events if it exists and the principal may see it; TaskNotFound otherwise
    /// (another principal's task is not revealed to exist).
    private func visibleEvents(_ id: String, principal: Principal) async throws -> [(stored: StoredEvent, event: TaskEvent)] {
        guard id.hasPrefix("task-"), id.utf8.count <= 100 else { throw A2AError.taskNotFound(String(id.prefix(100))) }
        let events: [(stored: StoredEvent, event: TaskEvent)]
        do {
            events = try await runner.service.events(of: id)
        } catch ResearchTaskError.unknownTask {
            throw A2AError.taskNotFound(id)
        } catch let ResearchTaskError.prunedTask(summary) {
            guard principal.mayAccess(taskOwnedBy: summary.owner) else { throw A2AError.taskNotFound(id) }
            throw A2AError.taskPruned(summary)
        }
        guard case let .submitted(_, owner, _)? = events.first?.event, principal.mayAccess(taskOwnedBy: owner) else {
            throw A2AError.taskNotFound(id)
        }
        return events
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
