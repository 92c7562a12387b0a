import ArgumentParser
import AresComposition

/// The version ares reports (CLI, agent card, MCP server info).
enum AresVersion {
    static let current = "0.4.0"
}

/// The `ares` command line. Each command loads the one `AresConfiguration` (flags, environment,
/// configuration file, defaults) and has the engine assembled from it by `AresComposition`.
@main
struct AresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ares",
        abstract: "An agentic research engine: ingest documents, search them, research questions with cited answers.",
        discussion: """
            Data lives in a data directory: --data-dir, else $ARES_DATA_DIR, else ./.ares.
            Settings come from flags, else the environment, else a configuration file (--config), else
            defaults: `ares config show` prints them and where each came from.
            Start with `ares demo`, or `ares ingest PATH...` then `ares search "QUERY"`.
            """,
        version: AresVersion.current,
        subcommands: [IngestCommand.self, SearchCommand.self, RemoveCommand.self, AskCommand.self, TasksCommand.self, MemoryCommand.self,
                      VerifyCommand.self, DatabaseCommand.self, BackupCommand.self, RestoreCommand.self, DemoCommand.self, ServeCommand.self, MCPCommand.self, KeysCommand.self, AuditCommand.self, ConfigCommand.self,
                      VersionCommand.self, ValidateCommand.self, ModelsCommand.self]
    )

    /// Everything ares writes is private to its owner (see `DataDirectoryPermissions`).
    static func main() async {
        DataDirectoryPermissions.restrictNewFiles()
        await main(nil)
    }
}
