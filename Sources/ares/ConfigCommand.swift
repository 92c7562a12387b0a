import ArgumentParser
import AresComposition

/// `ares config show`: the effective configuration, each setting with the source it came
/// from (flag, env, file or default). Keys are never shown: a key file's path, or the
/// variable that holds the key.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the effective configuration and where each setting comes from.",
        discussion: """
            Precedence: flags, then the environment (ARES_*, OTEL_EXPORTER_OTLP_ENDPOINT), then the \
            configuration file (--config FILE or $ARES_CONFIG), then defaults. See docs/configuration.md.
            """,
        subcommands: [Show.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every setting's value and source; give the flags of a command to see their effect.")

        @Option(help: "json (default) or text (a table).")
        var format: AresConfiguration.ReportFormat = .json

        @OptionGroup var data: DataDirectoryOptions
        @OptionGroup var embedding: EmbedderOptions
        @OptionGroup var model: ModelOptions
        @OptionGroup var server: ServerOptions
        @OptionGroup var database: DatabaseConnectionOptions
        @OptionGroup var replica: ReplicaOptions

        func run() async throws {
            try await Console.reportingErrors {
                print(try AresConfiguration.load(data, embedding, model, server, database, replica).report(format))
            }
        }
    }
}

extension AresConfiguration.ReportFormat: ExpressibleByArgument {}
