/// One message of a chat-completions conversation.
public struct ChatMessage: Sendable, Codable, Equatable {
    public var role: String
    public var content: String
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
}

/// A language model behind any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM,
/// Ollama, llama.cpp server). LLM-backed agents use it; tests hand them a fake.
public protocol LanguageModel: Sendable {
    var identity: String { get }
    func complete(_ messages: [ChatMessage], maxTokens: Int) async throws -> String
}
