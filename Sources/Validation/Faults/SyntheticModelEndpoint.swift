import Foundation
import NIOHTTP1

/// An OpenAI-compatible endpoint that answers at once with a fixed reply, for `ares validate
/// --manage`: the managed deployment needs *some* model endpoint for faults on the model path
/// to mean anything, and validation must not depend on a model server being installed. Its
/// replies are not what ares's language-model agents ask for (no JSON of their shapes), so each
/// step falls back to the built-in agent, exactly as with a real model that answers badly;
/// what is exercised is the path: the HTTP client, its timeout, retries, circuit breaker and
/// the fallback, with the fault proxy's latency and outage in front.
public enum SyntheticModelEndpoint {
    /// The handler: `POST …/chat/completions` and `POST …/embeddings`; anything else is 404.
    public static let handler: LoopbackHTTPServer.Handler = { head, _ in
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        guard head.method == .POST else { return .init(status: .methodNotAllowed, body: Data(#"{"error":{"message":"POST only"}}"#.utf8)) }
        if path.hasSuffix("/chat/completions") {
            return .init(status: .ok, body: Data(#"{"id":"validate-synthetic","object":"chat.completion","model":"validate-synthetic","choices":[{"index":0,"message":{"role":"assistant","content":"The synthetic model of ares validate has no answer."},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}"#.utf8))
        }
        if path.hasSuffix("/embeddings") {
            return .init(status: .ok, body: Data(#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0,0.0,0.0,1.0]}],"model":"validate-synthetic"}"#.utf8))
        }
        return .init(status: .notFound, body: Data(#"{"error":{"message":"not an OpenAI-compatible path"}}"#.utf8))
    }
}
