import Audit
import Foundation
import ResearchCore
import Security
import Storage
import TaskService

/// The A2A 1.0 JSON-RPC methods of ares: research tasks submitted as messages, read,
/// listed, canceled, streamed and pushed to webhooks.
public struct A2AMethods: Sendable {
    public var runner: TaskRunner
    public var pushConfigs: PushNotificationConfigStore
    public var quotas: PrincipalTaskQuotas
    public var extendedCard: @Sendable () -> Data
    /// How long a blocking SendMessage waits for its task before returning it unfinished.
    public var blockingTimeout: Duration
    /// Encoded results of ended tasks (they never change): GetTask's hot path.
    private let endedTaskResults = EncodedResultCache(capacity: 1024)

    public init(runner: TaskRunner, pushConfigs: PushNotificationConfigStore, quotas: PrincipalTaskQuotas = .init(),
                extendedCard: @escaping @Sendable () -> Data, blockingTimeout: Duration = .seconds(600)) {
        self.runner = runner
        self.pushConfigs = pushConfigs
        self.quotas = quotas
        self.extendedCard = extendedCard
        self.blockingTimeout = blockingTimeout
    }

    private var directory: TaskDirectory { runner.directory }

    public var methods: [JSONRPCMethod] {
        [
            a2a("SendMessage", .submitTasks) { try await sendMessage($0) },
            a2a("SendStreamingMessage", .submitTasks) { try await sendStreamingMessage($0) },
            a2a("GetTask", .readTasks) { try await getTask($0) },
            a2a("ListTasks", .readTasks) { try await listTasks($0) },
            a2a("CancelTask", .submitTasks) { try await cancelTask($0) },
            a2a("SubscribeToTask", .readTasks) { try await subscribeToTask($0) },
            a2a("CreateTaskPushNotificationConfig", .submitTasks) { try await createPushConfig($0) },
            a2a("GetTaskPushNotificationConfig", .readTasks) { try await getPushConfig($0) },
            a2a("ListTaskPushNotificationConfigs", .readTasks) { try await listPushConfigs($0) },
            a2a("DeleteTaskPushNotificationConfig", .submitTasks) { try await deletePushConfig($0) },
            a2a("GetExtendedAgentCard", .readTasks) { _ in .result(extendedCard()) },
        ]
    }

    /// The A2A 0.3 method names: answered with VersionNotSupported, so an old client learns why.
    public static let legacyMethodNames = [
        "message/send", "message/stream", "tasks/get", "tasks/list", "tasks/cancel", "tasks/resubscribe",
        "tasks/pushNotificationConfig/set", "tasks/pushNotificationConfig/get", "tasks/pushNotificationConfig/list",
        "tasks/pushNotificationConfig/delete", "agent/getAuthenticatedExtendedCard",
    ]

    public static var legacyMethods: [JSONRPCMethod] {
        legacyMethodNames.map { name in
            JSONRPCMethod(name, permission: .readTasks) { request in
                throw A2AError.versionNotSupported(request.protocolVersion ?? "0.3")
            }
        }
    }

    /// Wraps a handler with the A2A version check: a request without `A2A-Version` is a 0.3
    /// request, which this endpoint does not speak.
    private func a2a(_ name: String, _ permission: Permission, _ handler: @escaping @Sendable (JSONRPCRequest) async throws -> JSONRPCReply) -> JSONRPCMethod {
        JSONRPCMethod(name, permission: permission) { request in
            let version = request.protocolVersion ?? "0.3"
            guard version == "1" || version == "1.0" || version.hasPrefix("1.") else {
                throw A2AError.versionNotSupported(version)
            }
            return try await handler(request)
        }
    }

    // MARK: Messages

    private func sendMessage(_ request: JSONRPCRequest) async throws -> JSONRPCReply {
        let params = try request.params(A2ASendMessageRequest.self)
        let snapshot = try await submit(params, principal: request.principal)
        let historyLength = params.configuration?.historyLength
        if params.configuration?.returnImmediately == true {
            return .result(try JSONRPCResponseWriter.encode(A2ASendMessageResponse(task: A2ATaskMapper.task(snapshot, historyLength: historyLength))))
        }
        let final = try await directory.waitUntilEnded(snapshot.id, timeout: blockingTimeout)
        return .result(try JSONRPCResponseWriter.encode(A2ASendMessageResponse(task: A2ATaskMapper.task(final, historyLength: historyLength))))
    }

    private func sendStreamingMessage(_ request: JSONRPCRequest) async throws -> JSONRPCReply {
        let params = try request.params(A2ASendMessageRequest.self)
        let snapshot = try await submit(params, principal: request.principal)
        return .stream(stream(snapshot.id, historyLength: params.configuration?.historyLength))
    }

    /// Validates a message as a research question and submits it as a new task.
    private func submit(_ params: A2ASendMessageRequest, principal: Principal) async throws -> TaskSnapshot {
        let message = params.message
        guard message.role == .user else {
            throw JSONRPCError.invalidParams("message.role: must be ROLE_USER (got \(message.role.rawValue))")
        }
        guard !message.messageId.isEmpty else { throw JSONRPCError.invalidParams("message.messageId: must not be empty") }
        guard !message.parts.isEmpty else { throw JSONRPCError.invalidParams("message.parts: at least one text part (the question) is required") }
        for (index, part) in message.parts.enumerated() where part.contentCount != 1 {
            throw JSONRPCError.invalidParams("message.parts[\(index)]: a part holds exactly one of text, raw, url or data (this one has \(part.contentCount))")
        }
        if let unsupported = message.parts.first(where: { $0.text == nil }) {
            throw A2AError.contentTypeNotSupported("ares reads the question from text parts; a \(unsupported.kindName) part is not accepted")
        }
        if let modes = params.configuration?.acceptedOutputModes, !modes.isEmpty {
            let produced: Set<String> = ["text/markdown", "application/json", "text/plain", "text/*", "application/*", "*/*"]
            guard modes.contains(where: { produced.contains($0.lowercased()) }) else {
                throw A2AError.contentTypeNotSupported("acceptedOutputModes \(modes) excludes every output ares produces (text/markdown, application/json)")
            }
        }
        if let taskID = message.taskId, !taskID.isEmpty {
            let existing = try await visibleSnapshot(taskID, principal: principal)
            throw A2AError.unsupportedOperation(existing.state.isTerminal
                ? "task '\(taskID)' has ended; ares tasks take no further input: send a new message without taskId"
                : "task '\(taskID)' is still running and takes no further input; follow it with SubscribeToTask")
        }
        let question = message.parts.compactMap(\.text).joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !question.isEmpty else { throw JSONRPCError.invalidParams("message.parts: the text parts are empty; send a question") }
        guard question.count <= ResearchTaskService.maximumQuestionLength else {
            throw JSONRPCError.invalidParams("message.parts: the question has \(question.count) characters; the limit is \(ResearchTaskService.maximumQuestionLength)")
        }
        if let config = params.configuration?.taskPushNotificationConfig {
            try await pushConfigs.validate(config)
        }
        let contextID = message.contextId.flatMap { $0.isEmpty ? nil : $0 } ?? "ctx-" + UUID().uuidString.lowercased()
        guard contextID.utf8.count <= 200 else { throw JSONRPCError.invalidParams("message.contextId: longer than 200 bytes") }
        let pushConfig = params.configuration?.taskPushNotificationConfig
        let pushConfigs = self.pushConfigs
        let snapshot: TaskSnapshot
        do {
            // The webhook is stored before any worker can take the task: its first step is sent too.
            // Without one, nothing runs in between (the task may be recorded and queued in one commit).
            var storePushConfig: (@Sendable (TaskSnapshot) async throws -> Void)?
            if let pushConfig {
                storePushConfig = { submitted in _ = try await pushConfigs.set(pushConfig, taskID: submitted.id) }
            }
            // Idempotent by messageId for the principal: a retry (its first answer lost, or a 503
            // for a commit in doubt) finds the task the first try created, on any replica.
            let submission = try await runner.submitOnce(taskID: ResearchTaskService.taskID(forMessage: message.messageId, principal: principal.id),
                                                         question: question, principal: principal.id, quota: quotas.quota(for: principal.role),
                                                         contextID: contextID, beforeQueued: storePushConfig)
            if !submission.created {
                try Self.expectSameMessage(submission.snapshot.state, as: message, question: question, principal: principal.id)
            } else if pushConfig == nil {
                // Its steps then find "no webhooks" in memory instead of reading the store.
                pushConfigs.noteSubmittedWithoutConfigs(taskID: submission.snapshot.id)
            }
            snapshot = submission.snapshot
        } catch let refused as TaskAdmissionError {
            throw refused.isPrincipalQuota
                ? JSONRPCError.quotaExceeded(retryAfterSeconds: refused.retryAfterSeconds, detail: refused.description)
                : JSONRPCError.busy(retryAfterSeconds: refused.retryAfterSeconds, detail: refused.description)
        } catch let error as ResearchTaskError {
            throw JSONRPCError.invalidParams("message: \(error)")
        } catch let error as PushNotificationConfigError {
            throw JSONRPCError.invalidParams("configuration.taskPushNotificationConfig: \(error)")
        }
        return snapshot
    }

    /// A task found under a message's id must be what that message asks: the same question
    /// and, when the message names one, the same context. Otherwise the messageId was reused
    /// for another message, which A2A forbids (a message's id is unique): say so rather than
    /// answer with a task about something else.
    private static func expectSameMessage(_ existing: TaskState, as message: A2AMessage, question: String, principal: String) throws {
        let contextID = message.contextId.flatMap { $0.isEmpty ? nil : $0 }
        guard existing.principal == principal, existing.question == question, contextID == nil || contextID == existing.contextID else {
            throw JSONRPCError.invalidParams("message.messageId: '\(message.messageId.prefix(100))' was already used for a different message "
                + "(another question or contextId); a retry must resend the same message, and a new message needs a new messageId")
        }
    }

    /// The task, then each recorded step, ending after the step that ends the task. The
    /// subscription is taken now, so no step between this call and the first read is missed;
    /// the steps are pulled as the consumer reads them (no task of their own).
    private func stream(_ id: String, historyLength: Int?) -> AsyncThrowingStream<Data, any Error> {
        let directory = self.directory
        let subscription = directory.subscribe(to: id)
        let cursor = PullCursor<AsyncStream<TaskUpdate>.Iterator, Data>(subscription?.updates.makeAsyncIterator())
        let initial = subscription?.snapshot
        return AsyncThrowingStream(unfolding: {
            if !cursor.started {
                cursor.started = true
                // The task as it is now; for a task that has ended (no subscription), that is all.
                let current: TaskSnapshot
                if let initial { current = initial } else { current = try await directory.snapshot(of: id) }
                return try JSONRPCResponseWriter.encode(A2AStreamResponse(task: A2ATaskMapper.task(current, historyLength: historyLength)))
            }
            while cursor.pending.isEmpty {
                guard let update = await cursor.iterator?.next() else { return nil }
                cursor.pending = try A2AStreamEvents.responses(for: update).map { try JSONRPCResponseWriter.encode($0) }
            }
            return cursor.pending.removeFirst()
        })
    }

    // MARK: Tasks

    private func getTask(_ request: JSONRPCRequest) async throws -> JSONRPCReply {
        let params = try request.params(A2AGetTaskRequest.self)
        if let length = params.historyLength, length < 0 { throw JSONRPCError.invalidParams("historyLength: must not be negative") }
        let snapshot = try await visibleSnapshot(params.id, principal: request.principal)
        guard snapshot.state.isTerminal else {
            return .result(try JSONRPCResponseWriter.encode(A2ATaskMapper.task(snapshot, historyLength: params.historyLength)))
        }
        // History holds one message, so every positive length shows the same task.
        let key = "\(params.id)|\(params.historyLength.map { min($0, 1) } ?? 1)"
        if let cached = endedTaskResults.get(key) { return .result(cached) }
        let encoded = try JSONRPCResponseWriter.encode(A2ATaskMapper.task(snapshot, historyLength: params.historyLength))
        endedTaskResults.set(key, encoded)
        return .result(encoded)
    }

    private func listTasks(_ request: JSONRPCRequest) async throws -> JSONRPCReply {
        let params = try request.optionalParams(A2AListTasksRequest.self) ?? A2AListTasksRequest()
        let pageSize = params.pageSize ?? 50
        guard (1...100).contains(pageSize) else { throw JSONRPCError.invalidParams("pageSize: must be between 1 and 100 (got \(pageSize))") }
        if let length = params.historyLength, length < 0 { throw JSONRPCError.invalidParams("historyLength: must not be negative") }
        var offset = 0
        if let token = params.pageToken, !token.isEmpty {
            guard let decoded = Int(token.dropFirst("offset-".count)), token.hasPrefix("offset-"), decoded >= 0 else {
                throw JSONRPCError.invalidParams("pageToken: '\(token.prefix(50))' is not a token this server issued")
            }
            offset = decoded
        }
        var after: Date?
        if let text = params.statusTimestampAfter {
            guard let date = try? Date(text, strategy: .iso8601) else {
                throw JSONRPCError.invalidParams("statusTimestampAfter: '\(text.prefix(50))' is not an RFC 3339 timestamp")
            }
            after = date
        }
        let principal = request.principal
        // Which coarse states the asked A2A state stands for (none, for states such as
        // input-required that a listed task is never in).
        let states = params.status.flatMap { status in
            status == .unspecified ? nil : Set(CoarseTaskState.allCases.filter { A2ATaskState($0) == status })
        }
        let query = TaskListingQuery(owner: principal.can(.seeAllTasks) ? nil : principal.id,
                                     contextID: params.contextId.flatMap { $0.isEmpty ? nil : $0 }, states: states,
                                     updatedAfter: after, offset: offset, limit: pageSize)
        let page = try await runner.service.listing.page(query)
        var tasks: [A2ATask] = []
        for entry in page.entries {
            let snapshot: TaskSnapshot
            do {
                snapshot = try await directory.snapshot(of: entry.id)
            } catch ResearchTaskError.unknownTask, ResearchTaskError.prunedTask {
                // Removed from the store after it was listed (retention): not shown, and no
                // longer listed.
                runner.service.listing.remove([entry.id])
                continue
            }
            tasks.append(A2ATaskMapper.task(snapshot, historyLength: params.historyLength, includeArtifacts: params.includeArtifacts ?? false))
        }
        let next = offset + page.entries.count < page.totalSize ? "offset-\(offset + page.entries.count)" : ""
        return .result(try JSONRPCResponseWriter.encode(A2AListTasksResponse(tasks: tasks, nextPageToken: next, pageSize: pageSize, totalSize: page.totalSize)))
    }

    private func cancelTask(_ request: JSONRPCRequest) async throws -> JSONRPCReply {
        let params = try request.params(A2ATaskIDRequest.self)
        let snapshot = try await visibleSnapshot(params.id, principal: request.principal)
        let state = A2ATaskMapper.state(of: snapshot)
        guard !state.isTerminal else { throw A2AError.taskNotCancelable(params.id, state: state) }
        // Canceling another principal's task is an admin action: the audit trail records it.
        if snapshot.state.principal != request.principal.id {
            AuditNotes.current?.note(.cancelOthersTask, details: ["taskId": params.id, "owner": snapshot.state.principal ?? "(none)"])
        }
        let after = try await runner.cancel(params.id, reason: "canceled by \(request.principal.name) (CancelTask)")
        let finalState = A2ATaskMapper.state(of: after)
        guard finalState == .canceled else { throw A2AError.taskNotCancelable(params.id, state: finalState) }
        return .result(try JSONRPCResponseWriter.encode(A2ATaskMapper.task(after)))
    }

    private func subscribeToTask(_ request: JSONRPCRequest) async throws -> JSONRPCReply {
        let params = try request.params(A2ATaskIDRequest.self)
        let snapshot = try await visibleSnapshot(params.id, principal: request.principal)
        if snapshot.state.isTerminal {
            throw A2AError.unsupportedOperation("task '\(params.id)' has ended (\(A2ATaskMapper.state(of: snapshot).rawValue)); read it with GetTask")
        }
        return .stream(stream(params.id, historyLength: nil))
    }

    /// The task if it exists and the principal may see it; TaskNotFound otherwise (a task of
    /// another principal is not revealed to exist).
    func visibleSnapshot(_ id: String, principal: Principal) async throws -> TaskSnapshot {
        guard id.hasPrefix("task-"), id.utf8.count <= 100 else { throw A2AError.taskNotFound(String(id.prefix(100))) }
        let snapshot: TaskSnapshot
        do {
            snapshot = try await directory.snapshot(of: id)
        } catch ResearchTaskError.unknownTask {
            throw A2AError.taskNotFound(id)
        } catch let ResearchTaskError.prunedTask(summary) {
            guard principal.mayAccess(taskOwnedBy: summary.owner) else { throw A2AError.taskNotFound(id) }
            throw A2AError.taskPruned(summary)
        }
        guard principal.mayAccess(taskOwnedBy: snapshot.state.principal) else { throw A2AError.taskNotFound(id) }
        return snapshot
    }

    // MARK: Push notification configs

    private func createPushConfig(_ request: JSONRPCRequest) async throws -> JSONRPCReply {
        let params = try request.params(A2ATaskPushNotificationConfig.self)
        guard let taskID = params.taskId, !taskID.isEmpty else { throw JSONRPCError.invalidParams("taskId: required") }
        _ = try await visibleSnapshot(taskID, principal: request.principal)
        do {
            let stored = try await pushConfigs.set(params, taskID: taskID)
            return .result(try JSONRPCResponseWriter.encode(stored))
        } catch let error as PushNotificationConfigError {
            throw JSONRPCError.invalidParams("\(error)")
        }
    }

    private func getPushConfig(_ request: JSONRPCRequest) async throws -> JSONRPCReply {
        let params = try request.params(A2APushConfigRequest.self)
        _ = try await visibleSnapshot(params.taskId, principal: request.principal)
        guard let config = try await pushConfigs.list(taskID: params.taskId).first(where: { $0.id == params.id }) else {
            throw JSONRPCError.invalidParams("id: task '\(params.taskId)' has no push notification config '\(params.id)'")
        }
        return .result(try JSONRPCResponseWriter.encode(config))
    }

    private func listPushConfigs(_ request: JSONRPCRequest) async throws -> JSONRPCReply {
        let params = try request.params(A2AListPushConfigsRequest.self)
        _ = try await visibleSnapshot(params.taskId, principal: request.principal)
        let configs = try await pushConfigs.list(taskID: params.taskId)
        return .result(try JSONRPCResponseWriter.encode(A2AListTaskPushNotificationConfigsResponse(configs: configs, nextPageToken: "")))
    }

    private func deletePushConfig(_ request: JSONRPCRequest) async throws -> JSONRPCReply {
        let params = try request.params(A2APushConfigRequest.self)
        _ = try await visibleSnapshot(params.taskId, principal: request.principal)
        // Idempotent: deleting a config that is already gone succeeds.
        _ = try await pushConfigs.delete(id: params.id, taskID: params.taskId)
        return .result(Data("null".utf8))
    }
}
