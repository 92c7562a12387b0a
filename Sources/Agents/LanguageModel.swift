import Foundation

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
    /// The same, asking for a JSON object of `shape`. An endpoint with structured output turns
    /// the schema into a grammar (llama.cpp) or guided decoding (vLLM, OpenAI's strict mode), so
    /// even a small model answers in shape; the agent still checks the reply either way.
    func complete(_ messages: [ChatMessage], maxTokens: Int, shape: AnswerShape) async throws -> String
    /// Where calls and the agents' fallbacks are counted; nil: not counted.
    var usage: LanguageModelUsage? { get }
}

extension LanguageModel {
    /// A model without structured output gets the instructions in the prompt only.
    public func complete(_ messages: [ChatMessage], maxTokens: Int, shape: AnswerShape) async throws -> String {
        try await complete(messages, maxTokens: maxTokens)
    }

    public var usage: LanguageModelUsage? { nil }
}

/// Reading structured answers out of model replies.
enum LanguageModelReply {
    /// The JSON object of a reply, decoded; a Markdown code fence or prose around it is ignored.
    static func decodeJSONObject<T: Decodable>(_ reply: String, as type: T.Type) throws -> T {
        guard let start = reply.firstIndex(of: "{"), let end = reply.lastIndex(of: "}"), start < end else {
            throw LanguageModelError.malformedResponse("the reply holds no JSON object")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(reply[start...end].utf8))
        } catch {
            throw LanguageModelError.malformedResponse("the reply's JSON does not have the expected shape: \(error)")
        }
    }
}
