import Agents
import Foundation
import Knowledge

/// Builds the chat model a configuration names, for the LLM-backed agents. The API key, if
/// any, is read at each request.
public enum LanguageModelFactory {
    /// Nil without a configured model: the built-in agents do all the work.
    public static func make(_ configuration: AresConfiguration) throws -> (any LanguageModel)? {
        guard let settings = configuration.chatModel else { return nil }
        var client = OpenAIChatConfiguration(baseURL: settings.url, model: settings.name)
        client.apiKey = try settings.apiKey?.rotating()
        client.structuredOutput = settings.structuredOutput
        client.requestTimeout = settings.requestTimeout
        return OpenAIChatClient(configuration: client, http: try OutboundClients.modelEndpoints(configuration))
    }
}
