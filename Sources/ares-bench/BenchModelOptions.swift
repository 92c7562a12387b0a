import Agents
import ArgumentParser
import Foundation

/// An optional chat model for the research benchmark, so the LLM-backed agents can be
/// measured on the same questions as the built-in ones. The key, if the endpoint needs one,
/// comes from $ARES_MODEL_API_KEY (never a flag).
struct BenchModelOptions: ParsableArguments {
    @Option(help: "An OpenAI-compatible chat endpoint's API base URL (e.g. http://127.0.0.1:11434/v1): the LLM-backed agents. Unset: built-in agents.")
    var modelURL: String?

    @Option(help: "The chat model name for --model-url.")
    var model: String?

    func makeLanguageModel() throws -> (any LanguageModel)? {
        guard let text = modelURL else { return nil }
        guard let url = URL(string: text), url.scheme != nil else {
            throw ValidationError("--model-url '\(text)' is not a URL (e.g. http://127.0.0.1:11434/v1)")
        }
        guard let name = model, !name.isEmpty else { throw ValidationError("--model-url needs --model") }
        let key = ProcessInfo.processInfo.environment["ARES_MODEL_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        return OpenAIChatClient(configuration: OpenAIChatConfiguration(baseURL: url, model: name, apiKey: key))
    }
}
