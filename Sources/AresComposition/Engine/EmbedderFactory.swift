import Foundation
import Knowledge

/// Builds the embedder a configuration names. The API key, if any, is read now.
public enum EmbedderFactory {
    /// `requestTimeout` overrides the client's default per-request timeout (the benchmarks
    /// give slow local models more time).
    public static func make(_ settings: AresConfiguration.Embedding, requestTimeout: Duration? = nil) async throws -> any Embedder {
        switch settings.kind {
        case .builtin:
            return HashingEmbedder()
        case .openai:
            // AresConfiguration.load has checked that an openai embedder has both.
            guard let url = settings.url, let model = settings.model else {
                throw ConfigurationError(setting: ConfigurationSetting.embeddingURL.name, "the openai embedder needs embeddingURL and embeddingModel")
            }
            var configuration = OpenAIEmbeddingConfiguration(baseURL: url, model: model, apiKey: try settings.apiKey?.read(),
                                                             batchSize: settings.batchSize)
            if let requestTimeout { configuration.requestTimeout = requestTimeout }
            return try await OpenAIEmbeddingClient.connect(configuration)
        }
    }
}
