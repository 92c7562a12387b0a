import Foundation
import Knowledge
import Resilience

/// Where and how to reach a chat-completions endpoint; the key comes from the environment or
/// a file at run time, never from code.
public struct OpenAIChatConfiguration: Sendable {
    /// The API base, e.g. `http://127.0.0.1:11434/v1`; `/chat/completions` is appended.
    public var baseURL: URL
    public var model: String
    /// The API key, read at each request (a key file can be rotated while ares runs).
    public var apiKey: RotatingSecret?
    public var requestTimeout: Duration
    public var retry: RetryPolicy
    public var temperature: Double

    public init(baseURL: URL, model: String, apiKey: String? = nil, requestTimeout: Duration = .seconds(60),
                retry: RetryPolicy = RetryPolicy(maxAttempts: 3), temperature: Double = 0) {
        self.baseURL = baseURL
        self.model = model
        self.apiKey = apiKey.map(RotatingSecret.init(fixed:))
        self.requestTimeout = requestTimeout
        self.retry = retry
        self.temperature = temperature
    }
}

/// What went wrong talking to a chat endpoint.
public enum LanguageModelError: Error, CustomStringConvertible, Sendable {
    case http(status: Int, body: String)
    case malformedResponse(String)
    case transport(String)

    public var description: String {
        switch self {
        case let .http(status, body): "the model endpoint answered HTTP \(status): \(body.prefix(300))"
        case let .malformedResponse(detail): "the model endpoint sent an unexpected response: \(detail)"
        case let .transport(detail): "could not reach the model endpoint: \(detail)"
        }
    }

    var isRetryable: Bool {
        switch self {
        case let .http(status, _): status == 429 || status >= 500
        case .malformedResponse: false
        case .transport: true
        }
    }
}

/// A `LanguageModel` over HTTP: per-request timeout, retries with backoff and jitter on
/// network errors, rate limits and server errors, and a circuit breaker so that a dead
/// endpoint fails fast (and the caller falls back) instead of timing out on every call.
/// Requests go through the pooled and bounded `ModelEndpointHTTPClient` (by default the
/// process's shared one).
public struct OpenAIChatClient: LanguageModel {
    public let configuration: OpenAIChatConfiguration
    public let breaker: CircuitBreaker
    public let http: ModelEndpointHTTPClient

    public init(configuration: OpenAIChatConfiguration, breaker: CircuitBreaker? = nil, http: ModelEndpointHTTPClient = .shared) {
        self.configuration = configuration
        self.breaker = breaker ?? CircuitBreaker(name: "model \(configuration.model)", failureThreshold: 3, coolDown: .seconds(30))
        self.http = http
    }

    public var identity: String { "openai-compatible:\(configuration.model)@\(configuration.baseURL.host ?? "?")" }

    private struct RequestBody: Encodable {
        var model: String
        var messages: [ChatMessage]
        var max_tokens: Int
        var temperature: Double
    }

    private struct ResponseBody: Decodable {
        struct Choice: Decodable {
            struct Message: Decodable { var content: String? }
            var message: Message
        }
        var choices: [Choice]
    }

    public func complete(_ messages: [ChatMessage], maxTokens: Int) async throws -> String {
        let url = configuration.baseURL.appendingPathComponent("chat/completions")
        var headers: [(String, String)] = []
        if let key = try configuration.apiKey?.current() { headers.append(("Authorization", "Bearer \(key)")) }
        let body = try JSONEncoder().encode(RequestBody(
            model: configuration.model, messages: messages, max_tokens: maxTokens, temperature: configuration.temperature))
        let prepared = headers
        let limit = configuration.requestTimeout
        let http = self.http
        return try await breaker.run {
            try await configuration.retry.run(isRetryable: { error in
                (error as? LanguageModelError)?.isRetryable ?? (error is TimeoutError)
            }) {
                let (data, status) = try await withTimeout(limit, operation: "chat completion") {
                    do {
                        let response = try await http.postJSON(body, to: url, headers: prepared, timeout: limit)
                        return (response.body, response.status)
                    } catch let failure as ModelEndpointHTTPClient.Failure {
                        switch failure {
                        case let .transport(detail): throw LanguageModelError.transport(detail)
                        case .responseTooLarge: throw LanguageModelError.malformedResponse(failure.description)
                        }
                    }
                }
                guard (200..<300).contains(status) else {
                    throw LanguageModelError.http(status: status, body: String(decoding: data.prefix(1000), as: UTF8.self))
                }
                guard let content = (try? JSONDecoder().decode(ResponseBody.self, from: data))?.choices.first?.message.content else {
                    throw LanguageModelError.malformedResponse("no choices[0].message.content")
                }
                return content
            }
        }
    }
}
