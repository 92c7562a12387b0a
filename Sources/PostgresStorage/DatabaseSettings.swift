import Foundation

/// Where ares's PostgreSQL database is and how to reach it, from a URL
/// `postgres://USER@HOST:PORT/DATABASE?sslmode=disable|require|verify-full[&sslrootcert=CA.pem]`
/// and a password from `ARES_DATABASE_PASSWORD_FILE` (a file) or `ARES_DATABASE_PASSWORD`.
///
/// The password never comes from the URL: URLs end up in shell history, process listings,
/// configuration dumps and logs, so a URL that carries one is refused, with a message saying
/// where the password goes instead. `description` shows everything but the password.
public struct DatabaseSettings: Sendable, Equatable, CustomStringConvertible {
    /// How the connection is protected. Without `sslmode` the URL means `verify-full`: an
    /// unprotected connection is asked for, never fallen into.
    public enum TLSMode: String, Sendable, Equatable, CaseIterable {
        /// Plain TCP: only for a database on the same host or a private network.
        case disable
        /// TLS, without checking whose certificate it is (protects against listeners, not
        /// against an impostor).
        case require
        /// TLS with the server's certificate checked against the CA (`sslrootcert`, else the
        /// system's roots) and its name against the host.
        case verifyFull = "verify-full"
    }

    /// Where a password came from (shown by `description`; the password itself never is).
    public enum PasswordSource: Sendable, Equatable, CustomStringConvertible {
        case file(String)
        case environment
        case none

        public var description: String {
            switch self {
            case let .file(path): "from the file \(path)"
            case .environment: "from ARES_DATABASE_PASSWORD"
            case .none: "none"
            }
        }
    }

    public static let urlVariable = "ARES_DATABASE_URL"
    public static let passwordFileVariable = "ARES_DATABASE_PASSWORD_FILE"
    public static let passwordVariable = "ARES_DATABASE_PASSWORD"

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var tlsMode: TLSMode
    /// The CA certificates (PEM) that `verify-full` trusts; nil: the system's.
    public var certificateAuthorityFile: String?
    public var passwordSource: PasswordSource
    /// Connections the two pools open at most, together (each PostgreSQL connection is a server
    /// process): `PostgresConnectionConfiguration.connectionLimits` splits them.
    public var maximumConnections: Int = 20
    /// How long start-up keeps retrying an unreachable database before giving up.
    public var startupTimeout: Duration = .seconds(30)
    /// How long a request waits for the database (a pooled connection and a query's answer)
    /// before it answers "retry later": a stalled pool or a silent server must not hold
    /// requests, task steps or a shutdown forever. `ARES_DATABASE_REQUEST_TIMEOUT` (seconds).
    public var requestTimeout: Duration = .seconds(10)
    public static let requestTimeoutVariable = "ARES_DATABASE_REQUEST_TIMEOUT"
    /// Kept out of `description`, `Equatable` output and any log line.
    let password: Secret?

    /// The password wrapper: it prints as `<redacted>` wherever it is interpolated.
    struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        let value: String
        var description: String { "<redacted>" }
        var debugDescription: String { "<redacted>" }
        /// `dump` and debuggers show no children, so not the value either.
        var customMirror: Mirror { Mirror(self, children: [:]) }
    }

    public var description: String {
        var text = "postgres://\(user)@\(Self.hostForURL(host)):\(port)/\(database)?sslmode=\(tlsMode.rawValue)"
        if let certificateAuthorityFile { text += "&sslrootcert=\(certificateAuthorityFile)" }
        return text + " (password: \(passwordSource))"
    }

    /// The password, for the one place that hands it to the PostgreSQL client.
    var passwordValue: String? { password?.value }

    /// Reads the URL and the password from `environment` (`ARES_DATABASE_PASSWORD_FILE`, else
    /// `ARES_DATABASE_PASSWORD`; both set is refused as ambiguous).
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(DatabaseSettingsError) {
        let parsed = try Self.parse(url)
        user = parsed.user
        host = parsed.host
        port = parsed.port
        database = parsed.database
        tlsMode = parsed.tlsMode
        certificateAuthorityFile = parsed.certificateAuthorityFile
        if let text = environment[Self.requestTimeoutVariable], !text.isEmpty {
            guard let seconds = Double(text), seconds >= 0.1, seconds <= 3600 else {
                throw .invalid("\(Self.requestTimeoutVariable) must be a number of seconds from 0.1 to 3600 (got '\(text.prefix(40))')")
            }
            requestTimeout = .milliseconds(Int((seconds * 1000).rounded()))
        }
        let file = environment[Self.passwordFileVariable].flatMap { $0.isEmpty ? nil : $0 }
        let variable = environment[Self.passwordVariable].flatMap { $0.isEmpty ? nil : $0 }
        switch (file, variable) {
        case (.some, .some):
            throw .invalid("both \(Self.passwordFileVariable) and \(Self.passwordVariable) are set: set only one")
        case let (.some(path), nil):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .invalid("cannot read the database password file \(path) (\(Self.passwordFileVariable))")
            }
            // A trailing newline is how editors and `echo` end a file; it is not part of the password.
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
            guard !text.isEmpty else { throw .invalid("the database password file \(path) is empty") }
            guard !text.contains("\n"), !text.contains("\0") else {
                throw .invalid("the database password file \(path) must hold the password on one line")
            }
            password = Secret(value: text)
            passwordSource = .file(path)
        case let (nil, .some(value)):
            password = Secret(value: value)
            passwordSource = .environment
        case (nil, nil):
            password = nil
            passwordSource = .none
        }
    }

    /// The URL's parts; every problem named in one line that never repeats a password.
    static func parse(_ url: String) throws(DatabaseSettingsError) -> (user: String, host: String, port: Int, database: String,
                                                                       tlsMode: TLSMode, certificateAuthorityFile: String?) {
        let expected = "expected postgres://USER@HOST:PORT/DATABASE?sslmode=disable|require|verify-full"
        guard url.count <= 2048 else { throw .invalid("the database URL is longer than 2048 characters") }
        guard let components = URLComponents(string: url) else {
            throw .invalid("the database URL is not a URL: \(expected)")
        }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw .invalid("the database URL must start with postgres:// (\(expected))")
        }
        // Checked before anything is echoed: the message never includes the URL itself.
        if components.percentEncodedPassword != nil {
            throw .invalid("the database URL carries a password: remove it from the URL and put it in a file named by "
                + "\(passwordFileVariable) (or in \(passwordVariable))")
        }
        guard let user = components.user, !user.isEmpty else { throw .invalid("the database URL names no user: \(expected)") }
        guard let host = components.host, !host.isEmpty else { throw .invalid("the database URL names no host: \(expected)") }
        var port = 5432
        if let given = components.port {
            guard (1...65535).contains(given) else { throw .invalid("the database port must be 1 to 65535 (got \(given))") }
            port = given
        }
        var path = components.path
        if path.hasPrefix("/") { path.removeFirst() }
        guard !path.isEmpty else { throw .invalid("the database URL names no database: \(expected)") }
        guard !path.contains("/") else { throw .invalid("the database name must not contain '/' (got '\(path)')") }
        guard path.utf8.count <= 63 else { throw .invalid("a PostgreSQL database name has at most 63 bytes (got \(path.utf8.count))") }
        guard user.utf8.count <= 63 else { throw .invalid("a PostgreSQL user name has at most 63 bytes (got \(user.utf8.count))") }
        guard !path.contains("\0"), !user.contains("\0") else { throw .invalid("the database URL contains a NUL character") }

        var tlsMode = TLSMode.verifyFull
        var certificateAuthorityFile: String?
        var seen: Set<String> = []
        for item in components.queryItems ?? [] {
            guard seen.insert(item.name).inserted else { throw .invalid("the database URL sets '\(item.name)' twice") }
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = TLSMode(rawValue: value) else {
                    throw .invalid("sslmode must be one of disable, require, verify-full (got '\(item.value ?? "")')")
                }
                tlsMode = mode
            case "sslrootcert":
                guard let value = item.value, !value.isEmpty else { throw .invalid("sslrootcert must name a CA certificate file (PEM)") }
                certificateAuthorityFile = value
            default:
                throw .invalid("the database URL has an unknown parameter '\(item.name)' (known: sslmode, sslrootcert)")
            }
        }
        if certificateAuthorityFile != nil, tlsMode != .verifyFull {
            throw .invalid("sslrootcert is only used with sslmode=verify-full (got sslmode=\(tlsMode.rawValue))")
        }
        return (user, host, port, path, tlsMode, certificateAuthorityFile)
    }

    /// An IPv6 address goes in brackets in a URL.
    private static func hostForURL(_ host: String) -> String {
        host.contains(":") ? "[\(host)]" : host
    }
}

/// A database setting that cannot be used, in one line.
public enum DatabaseSettingsError: Error, Equatable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case let .invalid(message): message
        }
    }
}
