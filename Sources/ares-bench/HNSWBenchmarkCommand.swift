// TEMPORARY STUB — replaced by the HNSW benchmark.
import ArgumentParser
struct HNSWBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hnsw")
    func run() async throws {}
}
