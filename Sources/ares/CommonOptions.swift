import Agents
import ArgumentParser
import Foundation
import Knowledge

/// Where the knowledge base lives.
struct DataDirectoryOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The data directory (default: $ARES_DATA_DIR, else ./.ares).")
    var dataDirectory: String?

    var url: URL {
        let path = dataDirectory ?? ProcessInfo.processInfo.environment["ARES_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? ".ares"
        return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL
    }
}

/// Which embedder turns text into vectors.
struct EmbedderOptions: ParsableArguments {
    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case builtin, openai
    }

    @Option(help: "builtin (default: no model, no network) or openai (any OpenAI-compatible /v1/embeddings endpoint; $ARES_EMBEDDER).")
    var embedder: Kind?

    @Option(help: "The endpoint's API base URL, e.g. http://127.0.0.1:11434/v1 ($ARES_EMBEDDING_URL).")
    var embeddingURL: String?

    @Option(help: "The embedding model name ($ARES_EMBEDDING_MODEL).")
    var embeddingModel: String?

    @Option(help: "A file holding the API key (else $ARES_EMBEDDING_API_KEY_FILE or $ARES_EMBEDDING_API_KEY).")
    var embeddingKeyFile: String?

    func makeEmbedder() async throws -> any Embedder {
        let environment = ProcessInfo.processInfo.environment
        let kind = try embedder ?? environment["ARES_EMBEDDER"].map { name in
            guard let kind = Kind(rawValue: name) else {
                throw ValidationError("ARES_EMBEDDER must be one of \(Kind.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(name)')")
            }
            return kind
        } ?? .builtin
        switch kind {
        case .builtin:
            return HashingEmbedder()
        case .openai:
            guard let urlText = embeddingURL ?? environment["ARES_EMBEDDING_URL"], let url = URL(string: urlText), url.scheme != nil else {
                throw ValidationError("the openai embedder needs --embedding-url or ARES_EMBEDDING_URL (e.g. http://127.0.0.1:11434/v1)")
            }
            guard let model = embeddingModel ?? environment["ARES_EMBEDDING_MODEL"], !model.isEmpty else {
                throw ValidationError("the openai embedder needs --embedding-model or ARES_EMBEDDING_MODEL")
            }
            let key = try SecretReader.read(file: embeddingKeyFile ?? environment["ARES_EMBEDDING_API_KEY_FILE"],
                                            variable: environment["ARES_EMBEDDING_API_KEY"])
            return try await OpenAIEmbeddingClient.connect(OpenAIEmbeddingConfiguration(baseURL: url, model: model, apiKey: key))
        }
    }
}

/// Reads a secret from a file (preferred: it stays out of the process list and shell
/// history) or from an environment variable. Secrets never come from code or flags.
enum SecretReader {
    static func read(file: String?, variable: String?) throws -> String? {
        if let file, !file.isEmpty {
            do {
                return try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw ValidationError("cannot read the key file '\(file)': \(error.localizedDescription)")
            }
        }
        return variable.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// An optional language model for the LLM-backed agents: any OpenAI-compatible
/// chat-completions endpoint. Without one, the built-in agents do all the work.
struct ModelOptions: ParsableArguments {
    @Option(help: "The chat model's API base URL, e.g. http://127.0.0.1:11434/v1 ($ARES_MODEL_URL). Unset: built-in agents only.")
    var modelURL: String?

    @Option(help: "The chat model name ($ARES_MODEL).")
    var model: String?

    @Option(help: "A file holding the model API key (else $ARES_MODEL_API_KEY_FILE or $ARES_MODEL_API_KEY).")
    var modelKeyFile: String?

    func makeLanguageModel() throws -> (any LanguageModel)? {
        let environment = ProcessInfo.processInfo.environment
        guard let urlText = modelURL ?? environment["ARES_MODEL_URL"], !urlText.isEmpty else { return nil }
        guard let url = URL(string: urlText), url.scheme != nil else {
            throw ValidationError("the model URL '\(urlText)' is not a URL (e.g. http://127.0.0.1:11434/v1)")
        }
        guard let name = model ?? environment["ARES_MODEL"], !name.isEmpty else {
            throw ValidationError("a model URL needs a model name: --model or ARES_MODEL")
        }
        let key = try SecretReader.read(file: modelKeyFile ?? environment["ARES_MODEL_API_KEY_FILE"], variable: environment["ARES_MODEL_API_KEY"])
        return OpenAIChatClient(configuration: OpenAIChatConfiguration(baseURL: url, model: name, apiKey: key))
    }
}
