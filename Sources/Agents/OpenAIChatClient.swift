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
    /// Whether requests carry the agent's answer schema.
    public var structuredOutput: StructuredOutput

    /// How an agent's expected answer shape is sent to the endpoint.
    public enum StructuredOutput: String, Sendable, CaseIterable {
        /// `response_format: {"type": "json_schema", "json_schema": {"name", "strict": true, "schema"}}`:
        /// OpenAI's structured outputs, which llama.cpp's server, vLLM and Ollama also accept.
        case jsonSchema = "json-schema"
        /// The schema is not sent; the prompt alone asks for the JSON (for endpoints that
        /// reject `response_format`).
        case none
    }

    public init(baseURL: URL, model: String, apiKey: String? = nil, requestTimeout: Duration = .seconds(60),
                retry: RetryPolicy = RetryPolicy(maxAttempts: 3), temperature: Double = 0,
                structuredOutput: StructuredOutput = .jsonSchema) {
        self.baseURL = baseURL
        self.model = model
        self.apiKey = apiKey.map(RotatingSecret.init(fixed:))
        self.requestTimeout = requestTimeout
        self.retry = retry
        self.temperature = temperature
        self.structuredOutput = structuredOutput
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
    public let meter: LanguageModelUsage

    public init(configuration: OpenAIChatConfiguration, breaker: CircuitBreaker? = nil, http: ModelEndpointHTTPClient = .shared,
                usage: LanguageModelUsage = LanguageModelUsage()) {
        self.configuration = configuration
        self.breaker = breaker ?? CircuitBreaker(name: "model \(configuration.model)", failureThreshold: 3, coolDown: .seconds(30))
        self.http = http
        self.meter = usage
    }

    public var usage: LanguageModelUsage? { meter }

    public var identity: String { "openai-compatible:\(configuration.model)@\(configuration.baseURL.host ?? "?")" }

    struct RequestBody: Encodable {
        var model: String
        var messages: [ChatMessage]
        var max_tokens: Int
        var temperature: Double
    }

    private struct ResponseBody: Decodable {
        struct Choice: Decodable {
            struct Message: Decodable { var content: String? }
            var message: Message
            var finish_reason: String?
        }
        struct Usage: Decodable {
            var prompt_tokens: Int?
            var completion_tokens: Int?
        }
        var choices: [Choice]
        var usage: Usage?
    }

    /// The JSON body of a chat-completions request (separate so that tests can read it).
    func requestBody(_ messages: [ChatMessage], maxTokens: Int, shape: AnswerShape?) throws -> Data {
        var body = try JSONEncoder().encode(RequestBody(
            model: configuration.model, messages: messages, max_tokens: maxTokens, temperature: configuration.temperature))
        guard let shape, configuration.structuredOutput == .jsonSchema else { return body }
        // The schema is spliced in as text, which keeps its properties in order (see JSONSchema.jsonText).
        // OpenAI enforces a schema only in strict mode; grammar-based servers always do.
        guard body.last == UInt8(ascii: "}") else { throw LanguageModelError.malformedResponse("the request body is not a JSON object") }
        let name = String(decoding: try JSONEncoder().encode(shape.name), as: UTF8.self)
        body.removeLast()
        body.append(contentsOf: #","response_format":{"type":"json_schema","json_schema":{"name":\#(name),"strict":true,"schema":\#(shape.schema.jsonText)}}}"#.utf8)
        return body
    }

    public func complete(_ messages: [ChatMessage], maxTokens: Int) async throws -> String {
        try await complete(messages, maxTokens: maxTokens, shape: nil)
    }

    public func complete(_ messages: [ChatMessage], maxTokens: Int, shape: AnswerShape) async throws -> String {
        try await complete(messages, maxTokens: maxTokens, shape: Optional(shape))
    }

    private func complete(_ messages: [ChatMessage], maxTokens: Int, shape: AnswerShape?) async throws -> String {
        let agent = shape?.name ?? "unnamed"
        let clock = ContinuousClock()
        let started = clock.now
        let reply: (content: String, usage: ResponseBody.Usage?, finishReason: String?)
        do {
            reply = try await exchange(try requestBody(messages, maxTokens: maxTokens, shape: shape))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            meter.recordFailedCall(agent: agent)
            throw error
        }
        let elapsed = (clock.now - started).components
        meter.recordCall(agent: agent, seconds: Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18,
                         promptTokens: reply.usage?.prompt_tokens ?? 0, completionTokens: reply.usage?.completion_tokens ?? 0)
        // A reply cut off at max_tokens is unfinished JSON: say so rather than "no JSON object".
        // (Checked outside the circuit breaker: the endpoint itself is healthy.)
        if reply.finishReason == "length" {
            throw LanguageModelError.malformedResponse("the reply was cut off at max_tokens (\(maxTokens))")
        }
        return reply.content
    }

    private func exchange(_ body: Data) async throws -> (content: String, usage: ResponseBody.Usage?, finishReason: String?) {
        let url = configuration.baseURL.appendingPathComponent("chat/completions")
        var headers: [(String, String)] = []
        if let key = try configuration.apiKey?.current() { headers.append(("Authorization", "Bearer \(key)")) }
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
                guard let response = try? JSONDecoder().decode(ResponseBody.self, from: data),
                      let choice = response.choices.first, let content = choice.message.content else {
                    throw LanguageModelError.malformedResponse("no choices[0].message.content")
                }
                return (content, response.usage, choice.finish_reason)
            }
        }
    }
}
