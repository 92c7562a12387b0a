import ArgumentParser
import AresComposition
import Foundation
import Knowledge
import LocalModels

/// The local sentence-embedding model on a real corpus: load time, tokenizer speed, passages
/// per second, and the latency of embedding one query. It can write the passages, our ids and
/// our vectors for bench/embeddings/compare_reference.py, which checks them against the
/// reference tokenizer and sentence-transformers.
struct EmbeddingBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embeddings",
        abstract: "Time the local embedding model (--embedding-model-dir) on a corpus's passages and on single queries."
    )

    @Option(help: "The model folder (all-MiniLM-L6-v2 layout).")
    var embeddingModelDir: String

    @Option(help: "none (float32) or int8 (8-bit linear layers).")
    var embeddingQuantization = "none"

    /// The questions' texts are the timed single queries.
    @OptionGroup var corpusQuestions: CorpusQuestionOptions

    @Option(help: "A scratch data directory (emptied first): the corpus is chunked there with the built-in embedder.")
    var dataDir = "/tmp/ares-bench-embeddings"

    @Option(help: "Embed only the first N passages (0: all).")
    var limit = 0

    @Option(help: "Texts per embed call, as ingest batches them per document.")
    var batchSize = 64

    @Option(help: "Timed repetitions of the single-query set.")
    var repetitions = 5

    @Option(help: "Write the passages (JSON array of strings) here.")
    var passagesOut: String?

    @Option(help: "Write our token ids of every passage (JSON array of arrays) here.")
    var idsOut: String?

    @Option(help: "Write our vectors of the first --vector-count passages (JSON) here.")
    var vectorsOut: String?

    @Option(help: "How many vectors --vectors-out writes.")
    var vectorCount = 1000

    func run() async throws {
        let clock = ContinuousClock()
        let passages = try await chunkCorpus()
        print("corpus: \(corpusQuestions.corpus): \(passages.count) passages")
        if let passagesOut { try JSONEncoder().encode(passages).write(to: URL(fileURLWithPath: passagesOut)) }

        var embedder: LocalSentenceEmbedder?
        guard let quantization = EmbeddingQuantization(rawValue: embeddingQuantization) else {
            throw ValidationError("--embedding-quantization must be none or int8, not \(embeddingQuantization)")
        }
        let loadTime = try clock.measure {
            embedder = try LocalSentenceEmbedder.load(directory: URL(fileURLWithPath: embeddingModelDir), quantization: quantization)
        }
        guard let embedder else { return }
        print("model: \(embedder.identity), loaded in \(Statistics.format(Statistics.seconds(loadTime), 2)) s")

        var ids: [[Int32]] = []
        let tokenizeTime = clock.measure { ids = passages.map(embedder.tokenizer.encode) }
        let tokens = ids.reduce(0) { $0 + $1.count }
        print("tokenize: \(passages.count) passages, \(tokens) tokens (mean \(Statistics.format(Double(tokens) / Double(max(ids.count, 1)), 1)), "
              + "\(ids.filter { $0.count == embedder.tokenizer.maximumLength }.count) cut at \(embedder.tokenizer.maximumLength)) in "
              + "\(Statistics.format(Statistics.seconds(tokenizeTime), 2)) s = \(Statistics.format(Double(passages.count) / Statistics.seconds(tokenizeTime), 0)) passages/s")
        if let idsOut { try JSONEncoder().encode(ids).write(to: URL(fileURLWithPath: idsOut)) }

        let selected = limit > 0 ? Array(passages.prefix(limit)) : passages
        var vectors: [[Float]] = []
        vectors.reserveCapacity(selected.count)
        let embedTime = try await clock.measure {
            var start = 0
            while start < selected.count {
                let end = min(selected.count, start + max(1, batchSize))
                vectors += try await embedder.embed(Array(selected[start..<end]))
                start = end
            }
        }
        let seconds = Statistics.seconds(embedTime)
        let selectedTokens = ids.prefix(selected.count).reduce(0) { $0 + $1.count }
        print("embed: \(selected.count) passages (\(selectedTokens) tokens) in \(Statistics.format(seconds, 2)) s = "
              + "\(Statistics.format(Double(selected.count) / seconds, 1)) passages/s, \(Statistics.format(Double(selectedTokens) / seconds, 0)) tokens/s (tokenizing included)")
        if selected.count > 1000 {
            let first = Array(selected.prefix(1000))
            let firstTime = try await clock.measure {
                var start = 0
                while start < first.count {
                    let end = min(first.count, start + max(1, batchSize))
                    _ = try await embedder.embed(Array(first[start..<end]))
                    start = end
                }
            }
            print("embed: the first 1000 passages in \(Statistics.format(Statistics.seconds(firstTime), 2)) s = \(Statistics.format(1000 / Statistics.seconds(firstTime), 1)) passages/s")
        }
        if let vectorsOut {
            try JSONEncoder().encode(Array(vectors.prefix(vectorCount))).write(to: URL(fileURLWithPath: vectorsOut))
        }

        let queries = try corpusQuestions.questionSet().questions.map(\.question)
        _ = try await embedder.embed([queries.first ?? "warm-up"])
        var latencies: [Double] = []
        for _ in 0..<max(1, repetitions) {
            for query in queries {
                let time = try await clock.measure { _ = try await embedder.embed([query]) }
                latencies.append(Statistics.seconds(time) * 1000)
            }
        }
        print("one query (\(queries.count) questions × \(repetitions)): p50 \(Statistics.format(Statistics.percentile(latencies, 0.5), 2)) ms, "
              + "p95 \(Statistics.format(Statistics.percentile(latencies, 0.95), 2)) ms, p99 \(Statistics.format(Statistics.percentile(latencies, 0.99), 2)) ms")
        print("peak RSS MB: \(Statistics.format(Statistics.peakResidentMegabytes(), 0))")
    }

    /// The corpus's passages as ingest embeds them: chunked by ares (with the built-in
    /// embedder, which is fast), each as its title, heading path and text joined by newlines
    /// (Knowledge's IndexedText.compose).
    private func chunkCorpus() async throws -> [String] {
        var flags = ConfigurationFlags()
        flags.set(.dataDir, dataDir)
        let configuration = try AresConfiguration.load(flags: flags)
        try? FileManager.default.removeItem(at: configuration.dataDirectory)
        let knowledge = try await ResearchEnvironment.openKnowledgeBase(
            configuration, embedder: HashingEmbedder(), access: .readWrite, warning: BenchConfiguration.warning)
        _ = try await knowledge.ingest([corpusQuestions.corpus])
        let store = try DocumentStore(path: configuration.dataDirectory.appendingPathComponent(KnowledgeBase.databaseFileName).path, readOnly: true)
        var passages: [String] = []
        try store.forEachChunk { chunk in
            var parts = [chunk.title]
            parts.append(contentsOf: chunk.headingPath.filter { $0 != chunk.title })
            parts.append(chunk.text)
            passages.append(parts.joined(separator: "\n"))
        }
        return passages
    }
}
