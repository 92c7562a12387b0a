import Agents
import Foundation

/// Builds the chat model a configuration names, for the LLM-backed agents. The API key, if
/// any, is read now.
public enum LanguageModelFactory {
    /// Nil without a configured model: the built-in agents do all the work.
    public static func make(_ settings: AresConfiguration.ChatModel?) throws -> (any LanguageModel)? {
        guard let settings else { return nil }
        return OpenAIChatClient(configuration: OpenAIChatConfiguration(baseURL: settings.url, model: settings.name, apiKey: try settings.apiKey?.read()))
    }
}
