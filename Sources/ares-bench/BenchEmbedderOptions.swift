import ArgumentParser
import Foundation
import Knowledge

/// Which embedder a benchmark ingests and searches with. A data directory remembers the
/// embedder it was ingested with, so `research` must be given the same options as the
/// `corpus` run that filled its data directory.
struct BenchEmbedderOptions: ParsableArguments {
    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case builtin, openai
    }

    @Option(help: "builtin (the hashing embedder) or openai (an OpenAI-compatible /v1/embeddings endpoint).")
    var embedder: Kind = .builtin

    @Option(help: "The endpoint's API base URL for --embedder openai, e.g. http://127.0.0.1:8765/v1.")
    var embeddingURL: String?

    @Option(help: "The embedding model name for --embedder openai.")
    var embeddingModel: String?

    @Option(help: "Texts per embeddings request for --embedder openai.")
    var embeddingBatchSize = 64

    func makeEmbedder() async throws -> any Embedder {
        switch embedder {
        case .builtin:
            return HashingEmbedder()
        case .openai:
            guard let text = embeddingURL, let url = URL(string: text), url.scheme != nil else {
                throw ValidationError("--embedder openai needs --embedding-url (e.g. http://127.0.0.1:8765/v1)")
            }
            guard let model = embeddingModel, !model.isEmpty else {
                throw ValidationError("--embedder openai needs --embedding-model")
            }
            return try await OpenAIEmbeddingClient.connect(OpenAIEmbeddingConfiguration(
                baseURL: url, model: model, requestTimeout: .seconds(120), batchSize: embeddingBatchSize))
        }
    }
}
