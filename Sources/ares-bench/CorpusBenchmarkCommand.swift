import ArgumentParser
import AresComposition
import Foundation
import Knowledge

/// Ingest speed, search latency and retrieval quality over a real corpus (by default the
/// PostgreSQL 15 HTML documentation) with a question set that names the answering pages.
struct CorpusBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Ingest a corpus, then report ingest time, peak RSS, search latency, Recall@5 and MRR@10 per mode."
    )

    @OptionGroup var corpusQuestions: CorpusQuestionOptions

    @Option(help: "A scratch data directory (emptied first, unless --search-only).")
    var dataDir = "/tmp/ares-bench-corpus"

    @Flag(help: "Search the corpus --data-dir already holds (ingested by an earlier run with the same embedder) instead of ingesting it again: one ingest, several question sets.")
    var searchOnly = false

    @Option(help: "Timed repetitions of the whole question set per mode.")
    var repetitions = 20

    @Option(help: "An `ares` binary to time `ares search` end to end, start-up included (optional).")
    var aresBinary: String?

    @OptionGroup var embedding: EmbedderOptions
    @OptionGroup var configurationFile: ConfigurationFileOptions

    func run() async throws {
        let questionSet = try corpusQuestions.questionSet()
        let corpus = corpusQuestions.corpus
        let configuration = try BenchConfiguration.load(dataDirectory: dataDir, embedding, configurationFile)
        let dataURL = configuration.dataDirectory
        if !searchOnly { try? FileManager.default.removeItem(at: dataURL) }
        let clock = ContinuousClock()
        let embedder = try await EmbedderFactory.make(configuration, requestTimeout: BenchConfiguration.embeddingRequestTimeout)
        print("embedder: \(embedder.identity)")

        // Ingest.
        var summary = IngestSummary()
        var ingestTime = Duration.zero
        if !searchOnly {
            ingestTime = try await clock.measure {
                let knowledge = try await ResearchEnvironment.openKnowledgeBase(
                    configuration, embedder: embedder, access: .readWrite, warning: BenchConfiguration.warning)
                summary = try await knowledge.ingest([corpus])
            }
            print("corpus: \(corpus)")
            print("ingest: \(summary.filesSeen) files, \(summary.documents) documents, \(summary.chunks) passages, \(summary.skipped.count) skipped")
            print("ingest seconds: \(Statistics.format(Statistics.seconds(ingestTime), 2))   peak RSS MB: \(Statistics.format(Statistics.peakResidentMegabytes(), 0))")
        }

        // Open as a searcher would, from the snapshot.
        var knowledge: KnowledgeBase?
        let openTime = try clock.measure {
            knowledge = try KnowledgeBase(dataDirectory: dataURL, embedder: embedder, access: .readOnly)
        }
        guard let knowledge else { return }
        if searchOnly {
            // Vector and hybrid search quietly fall back to keywords over another embedder's
            // vectors: measuring that would report the keyword numbers under the model's name.
            guard await knowledge.vectorsMatchEmbedder, try await knowledge.counts().chunks > 0 else {
                throw ValidationError("\(dataDir) holds no corpus ingested with \(embedder.identity): run `ares-bench corpus` without --search-only first")
            }
            summary.chunks = try await knowledge.counts().chunks
        }
        print("open (load index snapshot) ms: \(Statistics.format(Statistics.seconds(openTime) * 1000, 1))")
        print("")
        print("mode      Recall@5  MRR@10   p50 ms   p99 ms   mean ms")
        var json: [String: Any] = ["passages": summary.chunks, "ingestSeconds": Statistics.seconds(ingestTime)]
        for mode in [SearchMode.keyword, .vector, .hybrid] {
            var recall = 0.0, reciprocalRank = 0.0
            for question in questionSet.questions {
                let results = try await knowledge.search(question.question, limit: 10, mode: mode)
                let pages = results.map { URL(fileURLWithPath: $0.passage.source).lastPathComponent }
                let relevant = Set(question.relevant)
                let found = Set(pages.prefix(5)).intersection(relevant)
                recall += Double(found.count) / Double(max(relevant.count, 1))
                if let rank = pages.firstIndex(where: relevant.contains) { reciprocalRank += 1 / Double(rank + 1) }
            }
            let count = Double(questionSet.questions.count)
            // Latency: warm up once, then time every query of the set `repetitions` times.
            for question in questionSet.questions { _ = try await knowledge.search(question.question, limit: 5, mode: mode) }
            var latencies: [Double] = []
            for _ in 0..<repetitions {
                for question in questionSet.questions {
                    let elapsed = try await clock.measure { _ = try await knowledge.search(question.question, limit: 5, mode: mode) }
                    latencies.append(Statistics.seconds(elapsed) * 1000)
                }
            }
            let row = [mode.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0),
                       Statistics.format(recall / count).padding(toLength: 9, withPad: " ", startingAt: 0),
                       Statistics.format(reciprocalRank / count).padding(toLength: 8, withPad: " ", startingAt: 0),
                       Statistics.format(Statistics.percentile(latencies, 0.5)).padding(toLength: 8, withPad: " ", startingAt: 0),
                       Statistics.format(Statistics.percentile(latencies, 0.99)).padding(toLength: 8, withPad: " ", startingAt: 0),
                       Statistics.format(Statistics.mean(latencies))]
            print(row.joined(separator: " "))
            json[mode.rawValue] = ["recallAt5": recall / count, "mrrAt10": reciprocalRank / count,
                                   "p50ms": Statistics.percentile(latencies, 0.5), "p99ms": Statistics.percentile(latencies, 0.99)]
        }
        if let aresBinary { try timeCommandLine(aresBinary, questions: questionSet.questions.map(\.question)) }
        let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        print("json: " + String(decoding: data, as: UTF8.self))
    }

    /// `ares search` as a user runs it: a new process each time, start-up included.
    private func timeCommandLine(_ binary: String, questions: [String]) throws {
        var times: [Double] = []
        let clock = ContinuousClock()
        for question in questions.prefix(20) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["search", question, "--data-dir", dataDir, "--format", "json"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            let elapsed = try clock.measure {
                try process.run()
                process.waitUntilExit()
            }
            times.append(Statistics.seconds(elapsed) * 1000)
        }
        print("")
        print("ares search (new process, hybrid, JSON) ms: p50 \(Statistics.format(Statistics.percentile(times, 0.5), 1))  max \(Statistics.format(times.max() ?? .nan, 1))  over \(times.count) runs")
    }
}
