import AresComposition
import Foundation

/// Loads a configuration the way the CLI does, from a fixed working directory, for the tests of
/// one setting each: the configuration, or the message its error gives.
enum ConfigurationLoading {
    static func load(_ flags: ConfigurationFlags = ConfigurationFlags(), environment: [String: String] = [:]) throws -> AresConfiguration {
        try AresConfiguration.load(flags: flags, environment: environment, workingDirectory: URL(fileURLWithPath: "/srv/work"))
    }

    /// The message of the ConfigurationError that loading throws, nil when it loads, and a line
    /// saying so when it throws anything else (which a test then fails on).
    static func message(_ flags: ConfigurationFlags = ConfigurationFlags(), environment: [String: String] = [:]) -> String? {
        do {
            _ = try load(flags, environment: environment)
            return nil
        } catch let error as ConfigurationError {
            return error.message
        } catch {
            return "not a ConfigurationError: \(error)"
        }
    }
}
