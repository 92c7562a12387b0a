/// The requests of the mix: what an orchestrator does with ares over A2A 1.0 JSON-RPC
/// (POST /a2a), plus the public agent card and ares's own search method.
public enum RequestKind: String, Sendable, Codable, CaseIterable, CodingKeyRepresentable {
    /// SendMessage with `returnImmediately`: a new research task, acknowledged with its id.
    case sendMessage = "SendMessage"
    /// GetTask of an acknowledged task, polling those not yet ended until they end.
    case getTask = "GetTask"
    case listTasks = "ListTasks"
    /// SubscribeToTask: the server-sent event stream of a task, read to its end.
    case subscribeToTask = "SubscribeToTask"
    /// GET /.well-known/agent-card.json.
    case agentCard = "AgentCard"
    /// ares/search: hybrid search of the knowledge base.
    case search = "ares/search"
}
