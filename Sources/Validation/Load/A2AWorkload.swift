import Foundation
import NIOCore
import NIOHTTP1

/// The request mix against an ares deployment (or anything that speaks A2A 1.0 JSON-RPC on
/// POST /a2a): request *i* is the mix's kind for *i*; its body names a task from the ledger when
/// the kind needs one. Answers update the ledger: acknowledged tasks from SendMessage, ended ones
/// from GetTask and finished streams.
public struct A2AWorkload: Sendable {
    public let http: LoadHTTPClient
    public let target: ValidationTarget
    /// `Authorization` header values, one per simulated client; requests rotate over them and a
    /// task is always read with the credential that submitted it (tasks are private to their owner).
    public let authorizations: [String]
    public let ledger: TaskLedger
    /// Several replicas: each request goes to the one the balancer picks; nil: `target` only.
    public let balancer: ReplicaBalancer?
    private let cycle: [RequestKind]
    private let a2aURL: String
    private let cardURL: String

    static let questions = [
        "How are interrupted research tasks resumed after a crash?",
        "How do I back up and restore the data directory?",
        "Which roles can submit research tasks?",
        "How are API keys stored and revoked?",
        "What does the hybrid search combine?",
        "How does ares rate-limit a principal?",
        "What does the agent card announce?",
        "How are citations checked against the passages?",
    ]
    static let searchQueries = ["backup restore", "api key revoke", "rate limit", "hash chain verify", "agent card",
                                "hybrid search vector keyword", "task resume crash", "tls client certificate"]

    public init(http: LoadHTTPClient, target: ValidationTarget, authorizations: [String], mix: RequestMix, ledger: TaskLedger,
                balancer: ReplicaBalancer? = nil) {
        self.http = http
        self.balancer = balancer
        self.target = target
        self.authorizations = authorizations
        self.ledger = ledger
        let cycle = mix.cycle()
        self.cycle = cycle.isEmpty ? [.agentCard] : cycle
        a2aURL = target.url("/a2a")
        cardURL = target.url("/.well-known/agent-card.json")
    }

    public func kind(_ index: Int) -> RequestKind {
        cycle[Self.wrap(index, cycle.count)]
    }

    public func execute(_ index: Int) async -> RequestResult {
        let kind = kind(index)
        let outcome: RequestOutcome
        switch kind {
        case .agentCard:
            let answer = await getCard()
            outcome = answer.failure ?? JSONRPCReplyClassifier.classify(status: answer.status)
        case .sendMessage:
            outcome = await sendMessage(index)
        case .getTask:
            outcome = await getTask(index)
        case .listTasks:
            let owner = Self.wrap(index, max(1, authorizations.count))
            outcome = await call("ListTasks", params: #"{"pageSize":20}"#, owner: owner).0
        case .search:
            let query = Self.searchQueries[Self.wrap(index, Self.searchQueries.count)]
            outcome = await call("ares/search", params: #"{"query":"\#(query)","limit":5}"#, owner: Self.wrap(index, max(1, authorizations.count))).0
        case .subscribeToTask:
            outcome = await subscribe(index)
        }
        return RequestResult(kind: kind.rawValue, outcome: outcome)
    }

    // MARK: Kinds

    private struct TaskResult: Decodable {
        struct Task: Decodable {
            struct Status: Decodable { var state: String }
            var id: String
            var status: Status
        }
        struct Result: Decodable { var task: Task? ; var id: String?; var status: Task.Status? }
        var result: Result?
    }

    private func sendMessage(_ index: Int) async -> RequestOutcome {
        let owner = Self.wrap(index, max(1, authorizations.count))
        let question = Self.questions[Self.wrap(index, Self.questions.count)]
        let params = #"{"message":{"messageId":"validate-\#(index)-\#(UUID().uuidString.prefix(8))","role":"ROLE_USER","parts":[{"text":"\#(question)"}]},"configuration":{"returnImmediately":true}}"#
        let (outcome, answer) = await call("SendMessage", params: params, owner: owner)
        guard outcome == .ok, let answer else { return outcome }
        guard let decoded = try? JSONDecoder().decode(TaskResult.self, from: Data(answer.body.readableBytesView)),
              let task = decoded.result?.task else {
            // A success without a task is not an acknowledgement ares promises.
            return .serverError
        }
        ledger.acknowledge(id: task.id, owner: owner, terminal: Self.isTerminal(task.status.state))
        return .ok
    }

    private func getTask(_ index: Int) async -> RequestOutcome {
        guard let entry = ledger.nextToPoll() else {
            // Nothing acknowledged yet: an orchestrator reads the card before it submits.
            let answer = await getCard()
            return answer.failure ?? JSONRPCReplyClassifier.classify(status: answer.status)
        }
        let (outcome, answer) = await call("GetTask", params: #"{"id":"\#(entry.id)","historyLength":0}"#, owner: entry.owner)
        if outcome == .ok, let answer, let decoded = try? JSONDecoder().decode(TaskResult.self, from: Data(answer.body.readableBytesView)),
           let state = decoded.result?.status?.state, Self.isTerminal(state) {
            ledger.markTerminal(entry.id)
        }
        return outcome
    }

    /// Follows a task's stream to its end. A task that ended before the stream opened is answered
    /// with UnsupportedOperation (-32004), which is the protocol's correct answer: it counts as ok.
    private func subscribe(_ index: Int) async -> RequestOutcome {
        guard let entry = ledger.taskToFollow() else {
            let answer = await getCard()
            return answer.failure ?? JSONRPCReplyClassifier.classify(status: answer.status)
        }
        var headers = headers(owner: entry.owner)
        headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
        let body = ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"method":"SubscribeToTask","params":{"id":"\#(entry.id)"}}"#)
        let answer = await post(body, headers: headers)
        if let failure = answer.failure { return failure }
        guard answer.contentType.lowercased().hasPrefix("text/event-stream") else {
            let (outcome, code) = JSONRPCReplyClassifier.classify(answer)
            return code == -32004 ? .ok : outcome
        }
        // Every event is a JSON-RPC response; an error event decides the outcome.
        for line in String(buffer: answer.body).split(separator: "\n") where line.hasPrefix("data:") {
            let data = Data(line.dropFirst(5).utf8)
            if let envelope = try? JSONDecoder().decode(JSONRPCReplyClassifier.Envelope.self, from: data), let code = envelope.error?.code {
                return JSONRPCReplyClassifier.classify(errorCode: code)
            }
        }
        ledger.markTerminal(entry.id)
        return JSONRPCReplyClassifier.classify(status: answer.status)
    }

    // MARK: Plumbing

    func call(_ method: String, params: String, owner: Int) async -> (RequestOutcome, LoadHTTPClient.Answer?) {
        let body = ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"method":"\#(method)","params":\#(params)}"#)
        let answer = await post(body, headers: headers(owner: owner))
        return (JSONRPCReplyClassifier.classify(answer).0, answer)
    }

    /// POST /a2a to the target, or to the replica the balancer picks (a connection that fails
    /// takes that replica out of its rotation).
    private func post(_ body: ByteBuffer, headers: HTTPHeaders) async -> LoadHTTPClient.Answer {
        guard let balancer, let replica = balancer.next() else { return await http.post(a2aURL, body: body, headers: headers) }
        let answer = await http.post(balancer.url("/a2a", replica: replica), body: body, headers: headers)
        if answer.failure == .connectionError { balancer.connectionFailed(replica) }
        return answer
    }

    private func getCard() async -> LoadHTTPClient.Answer {
        guard let balancer, let replica = balancer.next() else { return await http.get(cardURL) }
        let answer = await http.get(balancer.url("/.well-known/agent-card.json", replica: replica))
        if answer.failure == .connectionError { balancer.connectionFailed(replica) }
        return answer
    }

    func headers(owner: Int) -> HTTPHeaders {
        var headers: HTTPHeaders = ["Content-Type": "application/json", "A2A-Version": "1.0"]
        if !authorizations.isEmpty { headers.add(name: "Authorization", value: authorizations[Self.wrap(owner, authorizations.count)]) }
        return headers
    }

    static func isTerminal(_ state: String) -> Bool {
        ["TASK_STATE_COMPLETED", "TASK_STATE_FAILED", "TASK_STATE_CANCELED", "TASK_STATE_REJECTED"].contains(state)
    }

    /// `index mod count` for any index, 0 for an empty range.
    static func wrap(_ index: Int, _ count: Int) -> Int {
        guard count > 0 else { return 0 }
        let remainder = index % count
        return remainder < 0 ? remainder + count : remainder
    }
}
