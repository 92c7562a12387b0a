import AresComposition
import Foundation

/// The benchmarks' configuration: ares's own (`AresConfiguration`: the same flags, environment
/// and configuration file), except that the data directory is the benchmark's scratch folder,
/// given as a flag so that `$ARES_DATA_DIR` can never point a benchmark (which empties it) at
/// real data.
enum BenchConfiguration {
    /// Local embedding models on a small machine can be slow; a benchmark waits for them.
    static let embeddingRequestTimeout: Duration = .seconds(120)

    static func load(dataDirectory: String, _ groups: any ConfigurationOptionGroup...) throws -> AresConfiguration {
        var flags = ConfigurationFlags()
        for group in groups { group.apply(to: &flags) }
        flags.set(.dataDir, dataDirectory)
        return try AresConfiguration.load(flags: flags)
    }

    static func warning(_ message: String) {
        FileHandle.standardError.write(Data("ares-bench: warning: \(message)\n".utf8))
    }
}
