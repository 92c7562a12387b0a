import Foundation
import Resilience

/// Where and how to reach an OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, vLLM,
/// Ollama, text-embeddings-inference). The key comes from the environment or a file at run
/// time and is never logged.
public struct OpenAIEmbeddingConfiguration: Sendable {
    /// The API base, e.g. `http://127.0.0.1:11434/v1`; `/embeddings` is appended.
    public var baseURL: URL
    public var model: String
    /// The API key, read at each request (a key file can be rotated while ares runs).
    public var apiKey: RotatingSecret?
    public var requestTimeout: Duration
    public var batchSize: Int
    public var retry: RetryPolicy

    public init(
        baseURL: URL, model: String, apiKey: String? = nil,
        requestTimeout: Duration = .seconds(30), batchSize: Int = 64, retry: RetryPolicy = RetryPolicy()
    ) {
        self.baseURL = baseURL
        self.model = model
        self.apiKey = apiKey.map(RotatingSecret.init(fixed:))
        self.requestTimeout = requestTimeout
        self.batchSize = max(1, batchSize)
        self.retry = retry
    }

    /// The endpoint URL.
    public var embeddingsURL: URL { baseURL.appendingPathComponent("embeddings") }
}

/// What went wrong talking to an embeddings endpoint, in words a user can act on.
public enum EmbeddingServiceError: Error, CustomStringConvertible, Sendable {
    case http(status: Int, body: String)
    case malformedResponse(String)
    case transport(String)

    public var description: String {
        switch self {
        case let .http(status, body): "the embeddings endpoint answered HTTP \(status): \(body.prefix(300))"
        case let .malformedResponse(detail): "the embeddings endpoint sent an unexpected response: \(detail)"
        case let .transport(detail): "could not reach the embeddings endpoint: \(detail)"
        }
    }

    /// Rate limits, server errors and network failures are worth retrying; a 4xx is not.
    var isRetryable: Bool {
        switch self {
        case let .http(status, _): status == 429 || status >= 500
        case .malformedResponse: false
        case .transport: true
        }
    }
}

/// An `Embedder` backed by an OpenAI-compatible embeddings endpoint, with a per-request
/// timeout and retries with backoff and jitter, over the pooled and bounded
/// `ModelEndpointHTTPClient` (by default the process's shared one).
public struct OpenAIEmbeddingClient: Embedder {
    public let configuration: OpenAIEmbeddingConfiguration
    public let dimension: Int
    public let http: ModelEndpointHTTPClient

    /// Connects and learns the model's dimension from one probe request.
    public static func connect(_ configuration: OpenAIEmbeddingConfiguration,
                               http: ModelEndpointHTTPClient = .shared) async throws -> OpenAIEmbeddingClient {
        let probe = try await requestBatch(["dimension probe"], configuration: configuration, http: http)
        guard let first = probe.first, !first.isEmpty else {
            throw EmbeddingServiceError.malformedResponse("the probe returned no vector")
        }
        return OpenAIEmbeddingClient(configuration: configuration, dimension: first.count, http: http)
    }

    public init(configuration: OpenAIEmbeddingConfiguration, dimension: Int, http: ModelEndpointHTTPClient = .shared) {
        self.configuration = configuration
        self.dimension = dimension
        self.http = http
    }

    public var identity: String {
        "openai-compatible:\(configuration.model)@\(configuration.baseURL.host ?? "?")-d\(dimension)"
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        var vectors: [[Float]] = []
        vectors.reserveCapacity(texts.count)
        var start = 0
        while start < texts.count {
            let batch = Array(texts[start..<min(texts.count, start + configuration.batchSize)])
            let embedded = try await Self.requestBatch(batch, configuration: configuration, http: http)
            for vector in embedded {
                guard vector.count == dimension else {
                    throw EmbeddingServiceError.malformedResponse("a vector has \(vector.count) dimensions, expected \(dimension)")
                }
                vectors.append(vector)
            }
            start += batch.count
        }
        return vectors
    }

    private struct RequestBody: Encodable {
        var model: String
        var input: [String]
    }

    private struct ResponseBody: Decodable {
        struct Item: Decodable {
            var index: Int?
            var embedding: [Float]
        }
        var data: [Item]
    }

    static func requestBatch(_ texts: [String], configuration: OpenAIEmbeddingConfiguration,
                             http: ModelEndpointHTTPClient) async throws -> [[Float]] {
        var headers: [(String, String)] = []
        if let key = try configuration.apiKey?.current() {
            headers.append(("Authorization", "Bearer \(key)"))
        }
        let body = try JSONEncoder().encode(RequestBody(model: configuration.model, input: texts))
        let url = configuration.embeddingsURL
        let sendableHeaders = headers
        let limit = configuration.requestTimeout

        return try await configuration.retry.run(
            isRetryable: { error in
                if let serviceError = error as? EmbeddingServiceError { return serviceError.isRetryable }
                return error is TimeoutError
            }
        ) {
            let (data, status) = try await withTimeout(limit, operation: "embeddings request") {
                do {
                    let response = try await http.postJSON(body, to: url, headers: sendableHeaders, timeout: limit)
                    return (response.body, response.status)
                } catch let failure as ModelEndpointHTTPClient.Failure {
                    switch failure {
                    case let .transport(detail): throw EmbeddingServiceError.transport(detail)
                    case .responseTooLarge: throw EmbeddingServiceError.malformedResponse(failure.description)
                    }
                }
            }
            guard (200..<300).contains(status) else {
                throw EmbeddingServiceError.http(status: status, body: String(decoding: data.prefix(1000), as: UTF8.self))
            }
            let decoded: ResponseBody
            do {
                decoded = try JSONDecoder().decode(ResponseBody.self, from: data)
            } catch {
                throw EmbeddingServiceError.malformedResponse("\(error)")
            }
            guard decoded.data.count == texts.count else {
                throw EmbeddingServiceError.malformedResponse("\(decoded.data.count) vectors for \(texts.count) inputs")
            }
            // The API allows items out of order; `index` restores the input order.
            let ordered = decoded.data.enumerated().sorted { ($0.element.index ?? $0.offset) < ($1.element.index ?? $1.offset) }
            return ordered.map { item in
                var vector = item.element.embedding
                VectorNormalization.normalize(&vector)
                return vector
            }
        }
    }
}
