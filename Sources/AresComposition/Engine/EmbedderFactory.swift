import Foundation
import Knowledge
import LocalModels

/// Builds the embedder a configuration names. The API key, if any, is read at each request.
public enum EmbedderFactory {
    /// `requestTimeout` overrides the client's default per-request timeout (the benchmarks
    /// give slow local models more time).
    public static func make(_ configuration: AresConfiguration, requestTimeout: Duration? = nil) async throws -> any Embedder {
        let settings = configuration.embedding
        switch settings.kind {
        case .builtin:
            return HashingEmbedder()
        case .openai:
            // AresConfiguration.load has checked that an openai embedder has both.
            guard let url = settings.url, let model = settings.model else {
                throw ConfigurationError(setting: ConfigurationSetting.embeddingURL.name, "the openai embedder needs embeddingURL and embeddingModel")
            }
            var client = OpenAIEmbeddingConfiguration(baseURL: url, model: model, batchSize: settings.batchSize)
            client.apiKey = try settings.apiKey?.rotating()
            if let requestTimeout { client.requestTimeout = requestTimeout }
            return try await OpenAIEmbeddingClient.connect(client, http: try OutboundClients.modelEndpoints(configuration))
        case .local:
            // AresConfiguration.load has checked that a local embedder has its folder.
            guard let directory = settings.modelDirectory else {
                throw ConfigurationError(setting: ConfigurationSetting.embeddingModelDir.name, "the local embedder needs embeddingModelDir")
            }
            do {
                return try LocalSentenceEmbedder.load(directory: directory, quantization: settings.quantization)
            } catch {
                throw ConfigurationError(setting: ConfigurationSetting.embeddingModelDir.name, "cannot use the local model: \(error.description)")
            }
        }
    }
}
