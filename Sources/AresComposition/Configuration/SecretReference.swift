import Foundation
import Knowledge

/// Where a secret (an API key) is kept. The configuration holds only this reference; the
/// secret is read when a client is built, so it never appears in the configuration, in
/// `ares config show`, or in a log of either.
public enum SecretReference: Sendable, Equatable {
    /// A file holding the secret (an absolute path); its surrounding white space is ignored.
    case file(String)
    /// An environment variable holding the secret.
    case environment(String)

    /// How `ares config show` shows it: a key file's path, never a key.
    public var redacted: String {
        switch self {
        case let .file(path): path
        case let .environment(variable): "(set in \(variable))"
        }
    }

    /// Reads the secret now. An empty file or variable counts as no secret.
    public func read(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        switch self {
        case let .file(path):
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ConfigurationError("cannot read the key file '\(path)': \(error.localizedDescription)")
            }
            let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return key.isEmpty ? nil : key
        case let .environment(variable):
            return environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        }
    }

    /// The secret as the clients hold it: read again at each use when it is a file (so that it
    /// can be rotated without a restart), checked once now so a missing file fails at start.
    public func rotating(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RotatingSecret? {
        switch self {
        case let .file(path):
            guard try read(environment: environment) != nil else { return nil }
            return RotatingSecret(file: path)
        case .environment:
            return try read(environment: environment).map(RotatingSecret.init(fixed:))
        }
    }
}
