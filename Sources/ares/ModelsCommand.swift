import ArgumentParser
import AresComposition
import Foundation
import LocalModels

/// `ares models fetch|list`: sentence-transformers models for `--embedder local`, fetched from
/// a Hugging Face hub into the data directory (`<data-dir>/models/NAME`) and listed with what
/// they are.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Local embedding models: fetch one from a Hugging Face hub, list the installed ones.",
        subcommands: [Fetch.self, List.self]
    )

    /// Where models live by default: beside the knowledge base they embed.
    static func modelsDirectory(_ data: DataDirectoryOptions) throws -> URL {
        try AresConfiguration.load(data).dataDirectory.appendingPathComponent("models")
    }

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a sentence-transformers model (resumable, checksummed) for --embedder local.",
            discussion: """
                Fetches config.json, model.safetensors, tokenizer.json and/or vocab.txt, and the pooling and sentence-transformers settings the model has, from {endpoint}/{NAME}/resolve/{revision}/{file}. Each file is checked against the SHA-256 (LFS files) or git object id the hub announces; an interrupted download continues where it stopped when run again. The folder appears only when every file is checked.

                Gated or private models need a hub access token: --token-file FILE, else $HF_TOKEN. It is sent to the hub's own address only (not to the storage that serves the weights), and only over https unless the hub is on this machine.

                Then: ares ingest DOCS --embedder local --embedding-model-dir DIR
                """)

        @Argument(help: "The model's repository on the hub, e.g. sentence-transformers/all-MiniLM-L6-v2.")
        var name: String

        @Option(help: ArgumentHelp("The folder to install into (default: <data-dir>/models/<last part of NAME>).", valueName: "dir"))
        var dir: String?

        @Option(help: "A branch, tag or commit of the model (default main).")
        var revision = "main"

        @Option(help: ArgumentHelp("The hub's address (default: $HF_ENDPOINT, else \(HubModelFetcher.defaultEndpoint)).", valueName: "url"))
        var endpoint: String?

        @Option(help: ArgumentHelp("A file holding a hub access token, for gated or private models (else $HF_TOKEN). "
                                   + "Sent only to the hub's own address, over https or on this machine.", valueName: "file"))
        var tokenFile: String?

        @OptionGroup var data: DataDirectoryOptions

        func run() async throws {
            try await Console.reportingErrors {
                let reference: HubModelReference
                let fetcher: HubModelFetcher
                do {
                    let environment = ProcessInfo.processInfo.environment
                    reference = try HubModelReference(repository: name, revision: revision)
                    let endpointURL = try HubModelFetcher.endpoint(endpoint ?? environment["HF_ENDPOINT"] ?? HubModelFetcher.defaultEndpoint)
                    fetcher = try HubModelFetcher(endpoint: endpointURL, token: HubToken.load(file: tokenFile, environment: environment))
                } catch let error as ModelFetchError {
                    throw ValidationError(error.description)
                }
                let directory = try dir.map { URL(fileURLWithPath: $0) } ?? ModelsCommand.modelsDirectory(data).appendingPathComponent(reference.name)
                let display = FetchProgressDisplay()
                let outcome: HubModelFetcher.Outcome
                do {
                    outcome = try await fetcher.fetch(reference, into: directory) { display.update($0) }
                    display.finish()
                } catch {
                    display.finish()
                    Console.error("\(error)")
                    throw ExitCode.failure
                }
                let manifest = outcome.manifest
                let at = manifest.commit.map { " at \($0.prefix(12))" } ?? ""
                if outcome.alreadyInstalled {
                    print("\(manifest.repository)\(at) is installed already in \(outcome.directory.path)")
                } else {
                    print("fetched \(manifest.repository)\(at): \(manifest.files.count) files, \(FetchProgressDisplay.size(manifest.totalSize)), checked, in \(outcome.directory.path)")
                }
                print("use it with: --embedder local --embedding-model-dir \(outcome.directory.path)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The models in <data-dir>/models: name, size, whether the files are as fetched, the embedder identity they give.")

        @Option(help: ArgumentHelp("The folder of models to list (default: <data-dir>/models).", valueName: "dir"))
        var dir: String?

        @Flag(help: "Also compare every file's SHA-256 with the one recorded when it was fetched (reads all of them).")
        var checksums = false

        @Option(help: "text or json.")
        var format: OutputFormat = .text

        enum OutputFormat: String, ExpressibleByArgument { case text, json }

        @OptionGroup var data: DataDirectoryOptions

        struct Entry: Encodable {
            var name: String
            var directory: String
            var repository: String?
            var revision: String?
            var commit: String?
            var sizeBytes: Int64
            var filesOk: Bool
            var problems: [String]
            var identity: String?
        }

        func run() async throws {
            try await Console.reportingErrors {
                let directory = try dir.map { URL(fileURLWithPath: $0) } ?? ModelsCommand.modelsDirectory(data)
                let models = InstalledModel.scan(directory, checksums: checksums)
                let entries = models.map { model in
                    Entry(name: model.name, directory: model.directory.path, repository: model.manifest?.repository, revision: model.manifest?.revision,
                          commit: model.manifest?.commit, sizeBytes: model.size, filesOk: model.isUsable, problems: model.problems, identity: model.identity)
                }
                switch format {
                case .json:
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    print(String(decoding: try encoder.encode(entries), as: UTF8.self))
                case .text:
                    guard !entries.isEmpty else {
                        print("No models in \(directory.path). Fetch one with: ares models fetch sentence-transformers/all-MiniLM-L6-v2")
                        return
                    }
                    for entry in entries {
                        let source = entry.repository.map { repository in " (\(repository)\(entry.commit.map { "@\($0.prefix(12))" } ?? ""))" } ?? " (not fetched by ares)"
                        print("\(entry.name)\(source)  \(FetchProgressDisplay.size(entry.sizeBytes))  files \(entry.filesOk ? "ok" : "NOT ok")  \(entry.identity ?? "-")")
                        for problem in entry.problems { print("  - \(problem)") }
                    }
                }
            }
        }
    }
}
