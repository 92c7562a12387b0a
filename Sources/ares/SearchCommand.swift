import ArgumentParser
import AresComposition
import Foundation
import Knowledge
import ResearchCore

struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Print the passages of the knowledge base that best match a query."
    )

    @Argument(help: "What to look for, in natural words.")
    var query: String

    @Option(help: "How many passages (1-1000).")
    var limit = 5

    @Option(help: "hybrid (keywords and vectors fused, diversified), keyword (BM25) or vector.")
    var mode: SearchMode = .hybrid

    @Option(help: "text or json.")
    var format: OutputFormat = .text

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var embedding: EmbedderOptions
    @OptionGroup var database: DatabaseConnectionOptions

    func validate() throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be between 1 and 1000 (got \(limit))") }
        guard !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ValidationError("the query is empty: say what to look for")
        }
    }

    func run() async throws {
        try await Console.reportingErrors {
            let configuration = try AresConfiguration.load(data, embedding, database)
            let results = try await ResearchEnvironment.withKnowledgeBase(
                configuration, embedder: try await EmbedderFactory.make(configuration), access: .readOnly,
                logger: Console.databaseLogger, warning: Console.warning
            ) { knowledge in
                if try await knowledge.counts().chunks == 0 {
                    let place = configuration.database.map { "the database \($0.settings.database)" } ?? configuration.dataDirectory.path
                    Console.warning("the knowledge base in \(place) is empty: run `ares ingest PATH...` first")
                } else if mode != .keyword, await !knowledge.vectorsMatchEmbedder {
                    Console.warning("the stored vectors come from another embedder; hybrid search uses keywords only until `ares ingest` re-embeds")
                }
                return try await knowledge.search(query, limit: limit, mode: mode)
            }
            switch format {
            case .json: try printJSON(results)
            case .text: printText(results)
            }
        }
    }

    private func printJSON(_ results: [SearchResult]) throws {
        let output = SearchResultsDocument(query: query, mode: mode, results: results)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(output), as: UTF8.self))
    }

    private func printText(_ results: [SearchResult]) {
        if results.isEmpty {
            print("No passages match \"\(query)\".")
            return
        }
        for (rank, result) in results.enumerated() {
            let passage = result.passage
            print("\(rank + 1). \(passage.title) — \(passage.source)  [score \(String(format: "%.4f", result.score)), \(passage.chunkId)]")
            if !passage.headingPath.isEmpty { print("   \(passage.headingPath.joined(separator: " › "))") }
            print("   \(Self.snippet(passage.text))\n")
        }
    }

    static func snippet(_ text: String, limit: Int = 320) -> String {
        let flat = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return flat.count <= limit ? flat : String(flat.prefix(limit)) + "…"
    }
}

extension SearchMode: ExpressibleByArgument {}
