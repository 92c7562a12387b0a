import Foundation

/// One run of the conformance checks: what the card claims, the tasks the run made (one that
/// has ended is needed for CancelTask and push configs), and every JSON-RPC answer seen, for
/// the response-object rules.
struct ConformanceChecks: Sendable {
    let http: ProbeHTTP
    let endpoints: ProbeEndpoints
    let webhookURL: String
    private var responseProblems: [String] = []
    private var responsesSeen = 0
    /// A task of this run that has ended, once there is one.
    private var endedTaskID: String?

    static let taskStates: Set<String> = [
        "TASK_STATE_SUBMITTED", "TASK_STATE_WORKING", "TASK_STATE_COMPLETED", "TASK_STATE_FAILED", "TASK_STATE_CANCELED",
        "TASK_STATE_INPUT_REQUIRED", "TASK_STATE_REJECTED", "TASK_STATE_AUTH_REQUIRED",
    ]
    static let terminalStates: Set<String> = ["TASK_STATE_COMPLETED", "TASK_STATE_FAILED", "TASK_STATE_CANCELED", "TASK_STATE_REJECTED"]

    init(http: ProbeHTTP, endpoints: ProbeEndpoints, webhookURL: String) {
        self.http = http
        self.endpoints = endpoints
        self.webhookURL = webhookURL
    }

    private var card: [String: Any]? { endpoints.card }
    private var rpcPath: String { endpoints.jsonRPC }
    private func claims(_ capability: String) -> Bool { ProbeJSON.value(card, "capabilities", capability) as? Bool == true }

    private func passed(_ id: String, _ title: String, _ detail: String) -> ProbeCheck {
        ProbeCheck(id: id, title: title, outcome: .passed, detail: detail)
    }

    private func violation(_ id: String, _ title: String, _ detail: String) -> ProbeCheck {
        ProbeCheck(id: id, title: title, outcome: .violation, detail: detail)
    }

    private func notRun(_ id: String, _ title: String, _ detail: String) -> ProbeCheck {
        ProbeCheck(id: id, title: title, outcome: .notRun, detail: detail)
    }

    // MARK: JSON-RPC requests, each answer checked against the response-object rules

    private mutating func call(_ method: String, params: Any? = nil, id: Any = 1, path: String? = nil,
                               headers: [(String, String)] = []) async -> Result<ProbeHTTP.Reply, ProbeHTTP.Failure> {
        let result = await http.rpc(path ?? rpcPath, method: method, params: params, id: id, credential: .target, headers: headers)
        if case let .success(reply) = result { record(reply, method: method) }
        return result
    }

    private mutating func post(_ body: String, path: String? = nil, label: String) async -> Result<ProbeHTTP.Reply, ProbeHTTP.Failure> {
        let result = await http.post(path ?? rpcPath, raw: Data(body.utf8), credential: .target)
        if case let .success(reply) = result { record(reply, method: label) }
        return result
    }

    /// JSON-RPC 2.0 §5: a response object has `"jsonrpc": "2.0"`, an id, and exactly one of
    /// result and error; an error has an integer code and a string message.
    private mutating func record(_ reply: ProbeHTTP.Reply, method: String) {
        guard let object = reply.object else { return }
        responsesSeen += 1
        var problems: [String] = []
        if object["jsonrpc"] as? String != "2.0" { problems.append("jsonrpc is not \"2.0\"") }
        if object["id"] == nil { problems.append("no id member") }
        switch (object["result"] != nil, object["error"] != nil) {
        case (true, true): problems.append("both result and error")
        case (false, false): problems.append("neither result nor error")
        default: break
        }
        if let error = object["error"] {
            if ProbeJSON.int(error, "code") == nil { problems.append("error.code is not an integer") }
            if ProbeJSON.string(error, "message") == nil { problems.append("error.message is not a string") }
        }
        if !problems.isEmpty { responseProblems.append("\(method): \(problems.joined(separator: ", "))") }
    }

    func responseObjectCheck() -> ProbeCheck {
        let id = "a2a.jsonrpc.response-object", title = "Every JSON-RPC response has jsonrpc 2.0, an id, and exactly one of result and error"
        guard responsesSeen > 0 else { return notRun(id, title, "no JSON-RPC response was received") }
        return responseProblems.isEmpty ? passed(id, title, "\(responsesSeen) responses checked")
                                        : violation(id, title, responseProblems.prefix(5).joined(separator: "; "))
    }

    /// An answer that must be the JSON-RPC error `code`: the outcome and what came back.
    private func expectError(_ result: Result<ProbeHTTP.Reply, ProbeHTTP.Failure>, code: Int, echo id: Any? = nil) -> (ProbeCheck.Outcome, String) {
        switch result {
        case let .failure(failure):
            return (.serverError, "no answer: \(failure)")
        case let .success(reply):
            if let failure = ProbeVerdict.serverFailure(reply), code != -32603 { return (.serverError, failure) }
            guard reply.rpcErrorCode == code else { return (.violation, "expected error \(code), got \(reply.summary)") }
            if let id, !Self.sameID(reply.object?["id"], id) {
                return (.violation, "error \(code) as expected, but the id \(Self.show(reply.object?["id"])) is not the request's \(Self.show(id))")
            }
            return (.passed, reply.summary)
        }
    }

    private func checked(_ id: String, _ title: String, _ verdict: (ProbeCheck.Outcome, String)) -> ProbeCheck {
        ProbeCheck(id: id, title: title, outcome: verdict.0, detail: verdict.1)
    }

    static func sameID(_ answered: Any?, _ sent: Any) -> Bool {
        switch sent {
        case let text as String: return answered as? String == text
        case let number as Int: return ProbeJSON.int(answered) == number
        default: return answered is NSNull
        }
    }

    static func show(_ value: Any?) -> String {
        switch value {
        case nil: "(none)"
        case is NSNull: "null"
        case let text as String: "\"\(text.prefix(60))\""
        case let other?: "\(other)"
        }
    }

    // MARK: The agent card

    func cardChecks() -> [ProbeCheck] {
        let fetchID = "a2a.card.fetch", fetchTitle = "The agent card is served at /.well-known/agent-card.json as JSON"
        guard let card else {
            return [violation(fetchID, fetchTitle, endpoints.cardProblem ?? "no card")]
        }
        var checks = [passed(fetchID, fetchTitle, "\(endpoints.cardData?.count ?? 0) bytes")]
        var missing: [String] = []
        for field in ["name", "description", "version"] where (card[field] as? String)?.isEmpty != false {
            missing.append(field)
        }
        if (card["supportedInterfaces"] as? [Any])?.isEmpty != false { missing.append("supportedInterfaces (a non-empty list)") }
        if card["capabilities"] as? [String: Any] == nil { missing.append("capabilities") }
        for field in ["defaultInputModes", "defaultOutputModes"] where (card[field] as? [Any])?.allSatisfy({ $0 is String }) != true {
            missing.append("\(field) (a list of media types)")
        }
        if card["skills"] as? [Any] == nil { missing.append("skills") }
        for (index, interface) in (card["supportedInterfaces"] as? [Any] ?? []).enumerated() {
            for field in ["url", "protocolBinding", "protocolVersion"] where (ProbeJSON.string(interface, field) ?? "").isEmpty {
                missing.append("supportedInterfaces[\(index)].\(field)")
            }
        }
        for (index, skill) in (card["skills"] as? [Any] ?? []).enumerated() {
            for field in ["id", "name", "description"] where (ProbeJSON.string(skill, field) ?? "").isEmpty {
                missing.append("skills[\(index)].\(field)")
            }
            if ProbeJSON.array(skill, "tags") == nil { missing.append("skills[\(index)].tags") }
        }
        if let provider = card["provider"] {
            for field in ["url", "organization"] where (ProbeJSON.string(provider, field) ?? "").isEmpty { missing.append("provider.\(field)") }
        }
        let fieldsID = "a2a.card.required-fields", fieldsTitle = "The agent card has every field A2A 1.0 requires"
        checks.append(missing.isEmpty ? passed(fieldsID, fieldsTitle, "name, description, supportedInterfaces, version, capabilities, modes and skills present")
                                      : violation(fieldsID, fieldsTitle, "missing or empty: \(missing.joined(separator: ", "))"))
        let interfaces = (card["supportedInterfaces"] as? [Any] ?? []).compactMap { $0 as? [String: Any] }
        let jsonRPC = interfaces.first { ($0["protocolBinding"] as? String)?.uppercased() == "JSONRPC" }
        let versionID = "a2a.card.jsonrpc-interface", versionTitle = "The card declares a JSON-RPC interface of A2A 1.x"
        if let jsonRPC, let version = jsonRPC["protocolVersion"] as? String, version == "1" || version.hasPrefix("1.") {
            checks.append(passed(versionID, versionTitle, "\(jsonRPC["url"] as? String ?? "?") (\(version))"))
        } else {
            checks.append(violation(versionID, versionTitle, "no JSONRPC interface with protocolVersion 1.x among \(interfaces.count) interfaces"))
        }
        return checks
    }

    // MARK: The JSON-RPC 2.0 envelope

    mutating func envelopeChecks() async -> [ProbeCheck] {
        var checks: [ProbeCheck] = []
        let parse = await post(#"{"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{"#, label: "(truncated JSON)")
        var parseVerdict = expectError(parse, code: -32700)
        if parseVerdict.0 == .passed, case let .success(reply) = parse, !(reply.object?["id"] is NSNull) {
            parseVerdict = (.violation, "error -32700, but the id is \(Self.show(reply.object?["id"])) instead of null")
        }
        checks.append(checked("a2a.jsonrpc.parse-error", "Invalid JSON is answered with -32700 Parse error and a null id", parseVerdict))

        let invalid = await post(#"{"jsonrpc":"2.0","id":7,"method":12,"params":{}}"#, label: "(method is a number)")
        let emptyBatch = await post("[]", label: "(empty array)")
        var invalidVerdict = expectError(invalid, code: -32600)
        if invalidVerdict.0 == .passed {
            let batch = expectError(emptyBatch, code: -32600)
            invalidVerdict = batch.0 == .passed ? (.passed, "a number as method and an empty array: both -32600")
                                                : (batch.0, "an empty array: \(batch.1)")
        }
        checks.append(checked("a2a.jsonrpc.invalid-request", "A request object that is not valid is answered with -32600 Invalid Request", invalidVerdict))

        let unknownID = "probe-\(UUID().uuidString.lowercased())"
        checks.append(checked("a2a.jsonrpc.method-not-found", "An unknown method is answered with -32601 and the request's id",
                              expectError(await call("ares.validate/NoSuchMethod", params: [String: Any](), id: unknownID), code: -32601, echo: unknownID)))

        let missingMessage = expectError(await call("SendMessage", params: [String: Any]()), code: -32602)
        let wrongType = expectError(await call("GetTask", params: ["id": 42]), code: -32602)
        let paramsVerdict = missingMessage.0 != .passed ? (missingMessage.0, "SendMessage without message: \(missingMessage.1)")
            : wrongType.0 != .passed ? (wrongType.0, "GetTask with a number as id: \(wrongType.1)")
            : (ProbeCheck.Outcome.passed, "SendMessage without message and GetTask with a number as id: both -32602")
        checks.append(checked("a2a.jsonrpc.invalid-params", "Params of the wrong shape are answered with -32602 Invalid params", paramsVerdict))

        var echoProblems: [String] = []
        for id in ["probe-echo-\(UUID().uuidString.prefix(8))", 4711] as [Any] {
            switch await call("ListTasks", params: ["pageSize": 1], id: id) {
            case let .success(reply) where !Self.sameID(reply.object?["id"], id):
                echoProblems.append("ListTasks with id \(Self.show(id)) answered id \(Self.show(reply.object?["id"]))")
            case let .failure(failure): echoProblems.append("ListTasks with id \(Self.show(id)): \(failure)")
            default: break
            }
        }
        let errorID = "probe-error-\(UUID().uuidString.prefix(8))"
        if case let .success(reply) = await call("GetTask", params: ["id": "task-\(UUID().uuidString.lowercased())"], id: errorID),
           !Self.sameID(reply.object?["id"], errorID) {
            echoProblems.append("an error response for id \(Self.show(errorID)) carries id \(Self.show(reply.object?["id"]))")
        }
        checks.append(echoProblems.isEmpty ? passed("a2a.jsonrpc.id-echo", "Responses carry the request's id (string and number)", "string and number ids echoed, on results and errors")
                                           : violation("a2a.jsonrpc.id-echo", "Responses carry the request's id (string and number)", echoProblems.joined(separator: "; ")))

        let notification = await http.post(rpcPath, raw: Data(#"{"jsonrpc":"2.0","method":"ListTasks","params":{"pageSize":1}}"#.utf8), credential: .target)
        let notificationTitle = "A notification (no id) gets no response object"
        switch notification {
        case let .failure(failure):
            checks.append(ProbeCheck(id: "a2a.jsonrpc.notification", title: notificationTitle, outcome: .serverError, detail: "no answer: \(failure)"))
        case let .success(reply):
            if let failure = ProbeVerdict.serverFailure(reply) {
                checks.append(ProbeCheck(id: "a2a.jsonrpc.notification", title: notificationTitle, outcome: .serverError, detail: failure))
            } else if reply.object?["jsonrpc"] != nil {
                checks.append(violation("a2a.jsonrpc.notification", notificationTitle, "the notification was answered: \(reply.summary)"))
            } else {
                checks.append(passed("a2a.jsonrpc.notification", notificationTitle, "HTTP \(reply.status), no response object"))
            }
        }

        checks.append(checked("a2a.version.unsupported", "A request for an A2A version the server does not speak is answered with -32009 VersionNotSupported",
                              expectError(await call("ListTasks", params: ["pageSize": 1], headers: [("A2A-Version", "99.0")]), code: -32009)))
        return checks
    }

    // MARK: Tasks

    /// Submits a question and returns the task's id (or why there is none).
    private mutating func submitTask(_ question: String) async -> Result<(id: String, reply: ProbeHTTP.Reply), ProbeHTTP.Failure> {
        switch await call("SendMessage", params: SecurityAttacks.sendMessageParams(question)) {
        case let .failure(failure): return .failure(failure)
        case let .success(reply):
            guard let id = ProbeJSON.string(reply.object, "result", "task", "id") else {
                return .failure(ProbeHTTP.Failure(description: "SendMessage made no task: \(reply.summary)"))
            }
            return .success((id, reply))
        }
    }

    /// Polls GetTask until the task has ended (at most `seconds`); its final state, if it ended.
    private mutating func waitUntilEnded(_ id: String, seconds: Double = 30) async -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if case let .success(reply) = await call("GetTask", params: ["id": id]),
               let state = ProbeJSON.string(reply.object, "result", "status", "state"), Self.terminalStates.contains(state) {
                return state
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    mutating func taskChecks() async -> [ProbeCheck] {
        var checks: [ProbeCheck] = []
        let sendID = "a2a.send-message", sendTitle = "SendMessage answers a Task (with an id and a valid state) or a Message"
        let submitted = await call("SendMessage", params: SecurityAttacks.sendMessageParams("How does ares keep research tasks durable?"))
        var taskID: String?
        switch submitted {
        case let .failure(failure):
            checks.append(ProbeCheck(id: sendID, title: sendTitle, outcome: .serverError, detail: "no answer: \(failure)"))
        case let .success(reply):
            let result = reply.object?["result"] as? [String: Any]
            let task = result?["task"] as? [String: Any], message = result?["message"] as? [String: Any]
            if let failure = ProbeVerdict.serverFailure(reply) {
                checks.append(ProbeCheck(id: sendID, title: sendTitle, outcome: .serverError, detail: failure))
            } else if let code = reply.rpcErrorCode, code == -32041 || reply.status == 403 {
                checks.append(notRun(sendID, sendTitle, "the credential may not submit tasks (\(reply.summary)); give one of role researcher or admin"))
            } else if (task == nil) == (message == nil) {
                checks.append(violation(sendID, sendTitle, "the result holds \(task == nil ? "neither" : "both") task and message: \(reply.summary)"))
            } else if let task {
                let state = ProbeJSON.string(task, "status", "state") ?? ""
                if let id = task["id"] as? String, !id.isEmpty, Self.taskStates.contains(state) {
                    taskID = id
                    checks.append(passed(sendID, sendTitle, "task \(id) in \(state)"))
                } else {
                    checks.append(violation(sendID, sendTitle, "the task lacks an id or a valid status.state ('\(state)'): \(reply.summary)"))
                }
            } else if let message {
                let valid = message["messageId"] is String && message["role"] as? String == "ROLE_AGENT" && message["parts"] is [Any]
                checks.append(valid ? passed(sendID, sendTitle, "a message") : violation(sendID, sendTitle, "the message lacks messageId, role ROLE_AGENT or parts"))
            }
        }

        let getID = "a2a.get-task", getTitle = "GetTask answers the task asked for"
        if let taskID {
            switch await call("GetTask", params: ["id": taskID]) {
            case let .failure(failure): checks.append(ProbeCheck(id: getID, title: getTitle, outcome: .serverError, detail: "no answer: \(failure)"))
            case let .success(reply):
                let state = ProbeJSON.string(reply.object, "result", "status", "state") ?? ""
                if let failure = ProbeVerdict.serverFailure(reply) {
                    checks.append(ProbeCheck(id: getID, title: getTitle, outcome: .serverError, detail: failure))
                } else if ProbeJSON.string(reply.object, "result", "id") == taskID, Self.taskStates.contains(state) {
                    checks.append(passed(getID, getTitle, "task \(taskID) in \(state)"))
                } else {
                    checks.append(violation(getID, getTitle, "not the task asked for, or no valid state: \(reply.summary)"))
                }
            }
        } else {
            checks.append(notRun(getID, getTitle, "SendMessage made no task"))
        }

        checks.append(checked("a2a.get-task.unknown", "GetTask of an unknown id is answered with -32001 TaskNotFound",
                              expectError(await call("GetTask", params: ["id": "task-\(UUID().uuidString.lowercased())"]), code: -32001)))

        let cancelID = "a2a.cancel-task.ended", cancelTitle = "CancelTask of a task that has ended is answered with -32002 TaskNotCancelable"
        if let taskID {
            var ended = await waitUntilEnded(taskID)
            if ended == nil {
                // Still running after the wait: cancel it, which ends it.
                _ = await call("CancelTask", params: ["id": taskID])
                ended = await waitUntilEnded(taskID, seconds: 10)
            }
            if let ended {
                endedTaskID = taskID
                var verdict = expectError(await call("CancelTask", params: ["id": taskID]), code: -32002)
                verdict.1 = "task in \(ended): " + verdict.1
                checks.append(checked(cancelID, cancelTitle, verdict))
            } else {
                checks.append(notRun(cancelID, cancelTitle, "task \(taskID) did not end within 40 s, canceled or not"))
            }
        } else {
            checks.append(notRun(cancelID, cancelTitle, "SendMessage made no task"))
        }

        let listID = "a2a.list-tasks", listTitle = "ListTasks answers tasks, nextPageToken, pageSize and totalSize"
        switch await call("ListTasks", params: ["pageSize": 10]) {
        case let .failure(failure): checks.append(ProbeCheck(id: listID, title: listTitle, outcome: .serverError, detail: "no answer: \(failure)"))
        case let .success(reply):
            let result = reply.object?["result"]
            var missing: [String] = []
            if ProbeJSON.array(result, "tasks") == nil { missing.append("tasks") }
            if ProbeJSON.string(result, "nextPageToken") == nil { missing.append("nextPageToken") }
            if ProbeJSON.int(result, "pageSize") == nil { missing.append("pageSize") }
            if ProbeJSON.int(result, "totalSize") == nil { missing.append("totalSize") }
            if let failure = ProbeVerdict.serverFailure(reply) {
                checks.append(ProbeCheck(id: listID, title: listTitle, outcome: .serverError, detail: failure))
            } else if missing.isEmpty {
                checks.append(passed(listID, listTitle, "\(ProbeJSON.array(result, "tasks")?.count ?? 0) tasks on the page"))
            } else {
                checks.append(violation(listID, listTitle, "missing \(missing.joined(separator: ", ")): \(reply.summary)"))
            }
        }
        return checks
    }

    // MARK: Streaming

    /// Each event of a stream must be a JSON-RPC response with the request's id whose result
    /// is one of task, message, statusUpdate, artifactUpdate. Nil when they all are.
    private func streamProblem(_ events: [Data], id: String) -> String? {
        guard !events.isEmpty else { return "the stream carried no event" }
        for (index, event) in events.enumerated() {
            guard let object = ProbeJSON.parse(event) as? [String: Any] else { return "event \(index) is not a JSON object" }
            guard object["jsonrpc"] as? String == "2.0", Self.sameID(object["id"], id) else {
                return "event \(index) is not a JSON-RPC 2.0 response with the request's id"
            }
            if object["error"] != nil { return "event \(index) is an error: \(ProbeJSON.excerpt(event, limit: 160))" }
            let kinds = ["task", "message", "statusUpdate", "artifactUpdate"].filter { ProbeJSON.object(object, "result", $0) != nil }
            guard kinds.count == 1 else { return "event \(index)'s result holds \(kinds.count) of task, message, statusUpdate, artifactUpdate" }
        }
        return nil
    }

    /// The state the last event of a stream reports, if it reports one.
    private func lastState(_ events: [Data]) -> String? {
        guard let last = events.last.flatMap(ProbeJSON.parse) else { return nil }
        return ProbeJSON.string(last, "result", "statusUpdate", "status", "state") ?? ProbeJSON.string(last, "result", "task", "status", "state")
            ?? (ProbeJSON.object(last, "result", "message") != nil ? "(a message)" : nil)
    }

    mutating func streamingChecks() async -> [ProbeCheck] {
        guard claims("streaming") else { return [] }
        var checks: [ProbeCheck] = []
        let sendID = "a2a.streaming.send", sendTitle = "SendStreamingMessage answers text/event-stream, one JSON-RPC response per event, to a final state"
        let requestID = "probe-stream-\(UUID().uuidString.prefix(8))"
        let params = SecurityAttacks.sendMessageParams("How does ares stream a task's steps?")
        switch await http.stream(rpcPath, method: "SendStreamingMessage", params: params, id: requestID, credential: .target) {
        case let .failure(failure):
            checks.append(ProbeCheck(id: sendID, title: sendTitle, outcome: .serverError, detail: "no answer: \(failure)"))
        case let .success(stream):
            if !stream.isEventStream {
                let reply = ProbeHTTP.Reply(status: stream.status, headers: stream.headers, body: stream.body)
                checks.append(ProbeVerdict.serverFailure(reply).map { ProbeCheck(id: sendID, title: sendTitle, outcome: .serverError, detail: $0) }
                              ?? violation(sendID, sendTitle, "the card claims streaming, but the answer is \(stream.contentType): \(reply.summary)"))
            } else if let problem = streamProblem(stream.events, id: requestID) {
                checks.append(violation(sendID, sendTitle, problem))
            } else if !stream.ended {
                checks.append(violation(sendID, sendTitle, "the stream did not end within 60 s (\(stream.events.count) events)"))
            } else if let state = lastState(stream.events), state == "(a message)" || Self.terminalStates.contains(state) || state == "TASK_STATE_INPUT_REQUIRED" {
                checks.append(passed(sendID, sendTitle, "\(stream.events.count) events, ending in \(state)"))
            } else {
                checks.append(violation(sendID, sendTitle, "the stream ended after \(stream.events.count) events without a final state"))
            }
        }

        let subscribeID = "a2a.streaming.subscribe", subscribeTitle = "SubscribeToTask answers text/event-stream (or -32004 for a task that has ended)"
        switch await submitTask("How does ares let a client follow a running task?") {
        case let .failure(failure):
            checks.append(notRun(subscribeID, subscribeTitle, "no task to follow: \(failure)"))
        case let .success(submitted):
            let subscriptionID = "probe-subscribe-\(UUID().uuidString.prefix(8))"
            switch await http.stream(rpcPath, method: "SubscribeToTask", params: ["id": submitted.id], id: subscriptionID, credential: .target) {
            case let .failure(failure):
                checks.append(ProbeCheck(id: subscribeID, title: subscribeTitle, outcome: .serverError, detail: "no answer: \(failure)"))
            case let .success(stream):
                if stream.isEventStream {
                    if let problem = streamProblem(stream.events, id: subscriptionID) {
                        checks.append(violation(subscribeID, subscribeTitle, problem))
                    } else {
                        checks.append(passed(subscribeID, subscribeTitle, "\(stream.events.count) events\(stream.ended ? "" : " (still open after 60 s)")"))
                    }
                } else {
                    // The task may have ended between SendMessage and the subscription: then
                    // UnsupportedOperation is the answer A2A 1.0 prescribes.
                    let reply = ProbeHTTP.Reply(status: stream.status, headers: stream.headers, body: stream.body)
                    let ended = await waitUntilEnded(submitted.id, seconds: 5)
                    if reply.rpcErrorCode == -32004, let ended {
                        checks.append(passed(subscribeID, subscribeTitle, "the task had ended (\(ended)) before the subscription: -32004"))
                    } else {
                        checks.append(ProbeVerdict.serverFailure(reply).map { ProbeCheck(id: subscribeID, title: subscribeTitle, outcome: .serverError, detail: $0) }
                                      ?? violation(subscribeID, subscribeTitle, "the card claims streaming, but the answer is \(reply.summary)"))
                    }
                }
            }
        }
        return checks
    }

    // MARK: Push notifications

    mutating func pushNotificationChecks() async -> [ProbeCheck] {
        guard card != nil else { return [] }
        let id = "a2a.push.config-lifecycle"
        let title = "Push notification configs can be created, read, listed and deleted"
        guard claims("pushNotifications") else {
            // A server that does not offer them must say so with -32003.
            let probeTask = endedTaskID ?? "task-\(UUID().uuidString.lowercased())"
            let result = await call("CreateTaskPushNotificationConfig", params: ["taskId": probeTask, "url": webhookURL])
            return [checked("a2a.push.not-supported", "Without the pushNotifications capability, push config methods answer -32003",
                            expectError(result, code: -32003))]
        }
        guard let taskID = endedTaskID else { return [notRun(id, title, "no task of this run has ended to attach a config to")] }
        let created = await call("CreateTaskPushNotificationConfig", params: ["taskId": taskID, "url": webhookURL, "token": "ares-validate-probe"])
        guard case let .success(reply) = created, let configID = ProbeJSON.string(reply.object, "result", "id") else {
            switch created {
            case let .failure(failure): return [ProbeCheck(id: id, title: title, outcome: .serverError, detail: "no answer: \(failure)")]
            case let .success(reply):
                if let failure = ProbeVerdict.serverFailure(reply) { return [ProbeCheck(id: id, title: title, outcome: .serverError, detail: failure)] }
                if reply.rpcErrorCode == -32602 {
                    return [notRun(id, title, "the target refused the probe's webhook URL \(webhookURL): \(reply.summary)")]
                }
                return [violation(id, title, "CreateTaskPushNotificationConfig answered no config id: \(reply.summary)")]
            }
        }
        var problems: [String] = []
        if ProbeJSON.string(reply.object, "result", "url") != webhookURL { problems.append("the created config does not carry the url sent") }
        if case let .success(got) = await call("GetTaskPushNotificationConfig", params: ["taskId": taskID, "id": configID]) {
            if ProbeJSON.string(got.object, "result", "id") != configID { problems.append("GetTaskPushNotificationConfig: \(got.summary)") }
        } else { problems.append("GetTaskPushNotificationConfig had no answer") }
        if case let .success(listed) = await call("ListTaskPushNotificationConfigs", params: ["taskId": taskID]) {
            let ids = (ProbeJSON.array(listed.object, "result", "configs") ?? []).compactMap { ProbeJSON.string($0, "id") }
            if !ids.contains(configID) { problems.append("ListTaskPushNotificationConfigs does not list it: \(listed.summary)") }
        } else { problems.append("ListTaskPushNotificationConfigs had no answer") }
        if case let .success(deleted) = await call("DeleteTaskPushNotificationConfig", params: ["taskId": taskID, "id": configID]) {
            if deleted.rpcErrorCode != nil || !deleted.hasRPCResult { problems.append("DeleteTaskPushNotificationConfig: \(deleted.summary)") }
        } else { problems.append("DeleteTaskPushNotificationConfig had no answer") }
        if case let .success(after) = await call("GetTaskPushNotificationConfig", params: ["taskId": taskID, "id": configID]), after.rpcErrorCode == nil {
            problems.append("the config is still there after DeleteTaskPushNotificationConfig")
        }
        return [problems.isEmpty ? passed(id, title, "config \(configID) on task \(taskID): created, read, listed, deleted")
                                 : violation(id, title, problems.joined(separator: "; "))]
    }

    mutating func extendedCardChecks() async -> [ProbeCheck] {
        guard claims("extendedAgentCard") else { return [] }
        let id = "a2a.extended-card", title = "GetExtendedAgentCard answers an agent card"
        switch await call("GetExtendedAgentCard", params: [String: Any]()) {
        case let .failure(failure): return [ProbeCheck(id: id, title: title, outcome: .serverError, detail: "no answer: \(failure)")]
        case let .success(reply):
            if let failure = ProbeVerdict.serverFailure(reply) { return [ProbeCheck(id: id, title: title, outcome: .serverError, detail: failure)] }
            let result = reply.object?["result"]
            guard ProbeJSON.string(result, "name") != nil, ProbeJSON.array(result, "supportedInterfaces") != nil, ProbeJSON.array(result, "skills") != nil else {
                return [violation(id, title, "no card with name, supportedInterfaces and skills: \(reply.summary)")]
            }
            return [passed(id, title, "\(ProbeJSON.array(result, "skills")?.count ?? 0) skills")]
        }
    }

    // MARK: HTTP+JSON

    mutating func restChecks() async -> [ProbeCheck] {
        guard let rest = endpoints.rest else { return [] }
        var checks: [ProbeCheck] = []
        let headers = http.jsonHeaders
        let sendID = "a2a.rest.send-message", sendTitle = "POST /message:send answers 200 with a task or a message"
        let body = (try? JSONSerialization.data(withJSONObject: SecurityAttacks.sendMessageParams("How does the HTTP+JSON binding of ares work?"))) ?? Data()
        var taskID: String?
        switch await http.send(.POST, ProbeEndpoints.join(rest, "/message:send"), credential: .target, headers: headers, body: body) {
        case let .failure(failure): checks.append(ProbeCheck(id: sendID, title: sendTitle, outcome: .serverError, detail: "no answer: \(failure)"))
        case let .success(reply):
            taskID = ProbeJSON.string(reply.object, "task", "id")
            if let failure = ProbeVerdict.serverFailure(reply) {
                checks.append(ProbeCheck(id: sendID, title: sendTitle, outcome: .serverError, detail: failure))
            } else if reply.status == 200, taskID != nil || reply.object?["message"] != nil {
                checks.append(passed(sendID, sendTitle, taskID.map { "task \($0)" } ?? "a message"))
            } else {
                checks.append(violation(sendID, sendTitle, reply.summary))
            }
        }
        let getID = "a2a.rest.get-task", getTitle = "GET /tasks/{id} answers the task"
        if let taskID {
            switch await http.send(.GET, ProbeEndpoints.join(rest, "/tasks/\(taskID)"), credential: .target, headers: headers) {
            case let .failure(failure): checks.append(ProbeCheck(id: getID, title: getTitle, outcome: .serverError, detail: "no answer: \(failure)"))
            case let .success(reply):
                checks.append(reply.status == 200 && ProbeJSON.string(reply.object, "id") == taskID ? passed(getID, getTitle, "task \(taskID)")
                              : ProbeVerdict.serverFailure(reply).map { ProbeCheck(id: getID, title: getTitle, outcome: .serverError, detail: $0) }
                              ?? violation(getID, getTitle, reply.summary))
            }
        } else {
            checks.append(notRun(getID, getTitle, "POST /message:send made no task"))
        }
        let unknownID = "a2a.rest.get-task.unknown", unknownTitle = "GET /tasks/{id} of an unknown task answers 404"
        switch await http.send(.GET, ProbeEndpoints.join(rest, "/tasks/task-\(UUID().uuidString.lowercased())"), credential: .target, headers: headers) {
        case let .failure(failure): checks.append(ProbeCheck(id: unknownID, title: unknownTitle, outcome: .serverError, detail: "no answer: \(failure)"))
        case let .success(reply):
            checks.append(reply.status == 404 ? passed(unknownID, unknownTitle, reply.summary)
                          : ProbeVerdict.serverFailure(reply).map { ProbeCheck(id: unknownID, title: unknownTitle, outcome: .serverError, detail: $0) }
                          ?? violation(unknownID, unknownTitle, "expected 404, got \(reply.summary)"))
        }
        let listID = "a2a.rest.list-tasks", listTitle = "GET /tasks answers 200 with a list of tasks"
        switch await http.send(.GET, ProbeEndpoints.join(rest, "/tasks?pageSize=5"), credential: .target, headers: headers) {
        case let .failure(failure): checks.append(ProbeCheck(id: listID, title: listTitle, outcome: .serverError, detail: "no answer: \(failure)"))
        case let .success(reply):
            checks.append(reply.status == 200 && ProbeJSON.array(reply.object, "tasks") != nil ? passed(listID, listTitle, "\(ProbeJSON.array(reply.object, "tasks")?.count ?? 0) tasks")
                          : ProbeVerdict.serverFailure(reply).map { ProbeCheck(id: listID, title: listTitle, outcome: .serverError, detail: $0) }
                          ?? violation(listID, listTitle, reply.summary))
        }
        if let ended = endedTaskID {
            // The A2A 1.0 texts disagree on the status (the SDK answers 400 FAILED_PRECONDITION,
            // other readings 409 Conflict): either is accepted, with an error body.
            let cancelID = "a2a.rest.cancel-ended", cancelTitle = "POST /tasks/{id}:cancel of a task that has ended answers 400 or 409 with an error"
            switch await http.send(.POST, ProbeEndpoints.join(rest, "/tasks/\(ended):cancel"), credential: .target, headers: headers, body: Data("{}".utf8)) {
            case let .failure(failure): checks.append(ProbeCheck(id: cancelID, title: cancelTitle, outcome: .serverError, detail: "no answer: \(failure)"))
            case let .success(reply):
                checks.append([400, 409].contains(reply.status) && reply.object?["error"] != nil ? passed(cancelID, cancelTitle, reply.summary)
                              : ProbeVerdict.serverFailure(reply).map { ProbeCheck(id: cancelID, title: cancelTitle, outcome: .serverError, detail: $0) }
                              ?? violation(cancelID, cancelTitle, "expected 400 or 409 with an error, got \(reply.summary)"))
            }
        }
        return checks
    }

    // MARK: MCP

    mutating func mcpChecks() async -> [ProbeCheck] {
        guard let mcp = endpoints.mcp else { return [] }
        var checks: [ProbeCheck] = []
        let initID = "mcp.initialize", initTitle = "MCP initialize answers protocolVersion, capabilities and serverInfo"
        let initParams: [String: Any] = ["protocolVersion": "2025-06-18", "capabilities": [String: Any](),
                                         "clientInfo": ["name": "ares-validate", "version": "1"]]
        switch await call("initialize", params: initParams, id: "init-1", path: mcp) {
        case let .failure(failure): checks.append(ProbeCheck(id: initID, title: initTitle, outcome: .serverError, detail: "no answer: \(failure)"))
        case let .success(reply):
            let result = reply.object?["result"]
            if let failure = ProbeVerdict.serverFailure(reply) {
                checks.append(ProbeCheck(id: initID, title: initTitle, outcome: .serverError, detail: failure))
            } else if let version = ProbeJSON.string(result, "protocolVersion"), ProbeJSON.object(result, "capabilities") != nil,
                      ProbeJSON.string(result, "serverInfo", "name") != nil, Self.sameID(reply.object?["id"], "init-1") {
                checks.append(passed(initID, initTitle, "protocol \(version)"))
            } else {
                checks.append(violation(initID, initTitle, reply.summary))
            }
        }
        let notifyID = "mcp.initialized-notification", notifyTitle = "The notifications/initialized notification gets no response object"
        switch await http.post(mcp, raw: Data(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.utf8), credential: .target) {
        case let .failure(failure): checks.append(ProbeCheck(id: notifyID, title: notifyTitle, outcome: .serverError, detail: "no answer: \(failure)"))
        case let .success(reply):
            checks.append((200..<300).contains(reply.status) && reply.object?["jsonrpc"] == nil ? passed(notifyID, notifyTitle, "HTTP \(reply.status)")
                          : ProbeVerdict.serverFailure(reply).map { ProbeCheck(id: notifyID, title: notifyTitle, outcome: .serverError, detail: $0) }
                          ?? violation(notifyID, notifyTitle, reply.summary))
        }
        let listID = "mcp.tools-list", listTitle = "MCP tools/list answers tools, each with a name and an object inputSchema"
        var tools: [[String: Any]] = []
        switch await call("tools/list", params: [String: Any](), path: mcp) {
        case let .failure(failure): checks.append(ProbeCheck(id: listID, title: listTitle, outcome: .serverError, detail: "no answer: \(failure)"))
        case let .success(reply):
            tools = (ProbeJSON.array(reply.object, "result", "tools") ?? []).compactMap { $0 as? [String: Any] }
            let malformed = tools.filter { ($0["name"] as? String) == nil || ProbeJSON.string($0, "inputSchema", "type") != "object" }
            if let failure = ProbeVerdict.serverFailure(reply) {
                checks.append(ProbeCheck(id: listID, title: listTitle, outcome: .serverError, detail: failure))
            } else if ProbeJSON.array(reply.object, "result", "tools") == nil || !malformed.isEmpty {
                checks.append(violation(listID, listTitle, "\(malformed.count) malformed tools: \(reply.summary)"))
            } else {
                checks.append(passed(listID, listTitle, tools.compactMap { $0["name"] as? String }.joined(separator: ", ")))
            }
        }
        let callID = "mcp.tools-call-search", callTitle = "MCP tools/call of the search tool answers content"
        if let search = tools.first(where: { ($0["name"] as? String)?.contains("search") == true }), let name = search["name"] as? String {
            var arguments: [String: Any] = [:]
            for field in ProbeJSON.array(search, "inputSchema", "required")?.compactMap({ $0 as? String }) ?? [] {
                arguments[field] = ProbeJSON.string(search, "inputSchema", "properties", field, "type") == "integer" ? 1 : "durable research tasks"
            }
            switch await call("tools/call", params: ["name": name, "arguments": arguments], path: mcp) {
            case let .failure(failure): checks.append(ProbeCheck(id: callID, title: callTitle, outcome: .serverError, detail: "no answer: \(failure)"))
            case let .success(reply):
                let content = ProbeJSON.array(reply.object, "result", "content")?.compactMap { $0 as? [String: Any] } ?? []
                if let failure = ProbeVerdict.serverFailure(reply) {
                    checks.append(ProbeCheck(id: callID, title: callTitle, outcome: .serverError, detail: failure))
                } else if !content.isEmpty, content.allSatisfy({ $0["type"] is String }), ProbeJSON.value(reply.object, "result", "isError") as? Bool != true {
                    checks.append(passed(callID, callTitle, "\(name): \(content.count) content items"))
                } else {
                    checks.append(violation(callID, callTitle, "\(name): \(reply.summary)"))
                }
            }
        } else {
            checks.append(notRun(callID, callTitle, "tools/list names no search tool"))
        }
        checks.append(checked("mcp.unknown-method", "An unknown MCP method is answered with -32601",
                              expectError(await call("ares.validate/no-such-method", params: [String: Any](), id: 9, path: mcp), code: -32601, echo: 9)))
        return checks
    }
}
