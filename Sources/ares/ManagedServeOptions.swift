/// `ares validate --manage --serve-option ARG …`: arguments added to every `ares serve` the
/// managed deployment starts (each replica, every restart, the standby), so that a run
/// measures the configuration an operator deploys (rate limits, worker counts, retention,
/// log level) rather than the defaults.
enum ManagedServeOptions {
    /// The most arguments, and the longest one, a run accepts (the report states them all).
    static let maximumCount = 64
    static let maximumLength = 4096

    /// Options the managed deployment sets itself, or that its phases or its load cannot work
    /// with, and why.
    static let reserved: [String: String] = [
        "--host": "the deployment listens on 127.0.0.1",
        "--port": "the deployment picks its ports",
        "--data-dir": "the deployment makes its own data directories",
        "--config": "a configuration file could move the listener or the data; give its settings as --serve-option arguments",
        "--database": "use validate's --database",
        "--replica-id": "each replica's id comes from the deployment",
        "--standby": "the failover phase starts the standby",
        "--backup-to": "the restore phase sets it",
        "--model-url": "the chaos phase sets the model endpoint (behind its fault proxy)",
        "--model": "the chaos phase sets the model",
        "--dev": "the security probes judge the deployment's authentication",
    ]

    /// What is wrong with `arguments`, or nil when every one may be passed on.
    static func refusal(_ arguments: [String]) -> String? {
        guard arguments.count <= maximumCount else {
            return "--serve-option: at most \(maximumCount) arguments (got \(arguments.count))"
        }
        for argument in arguments {
            guard argument.utf8.count <= maximumLength, !argument.contains("\0") else {
                return "--serve-option: each argument at most \(maximumLength) bytes, without NUL characters"
            }
            guard argument.hasPrefix("--") else { continue }
            // `--name=value` names the option before its "=".
            let name = String(argument.prefix { $0 != "=" })
            if let why = reserved[name] {
                return "--serve-option \(name): not with --manage (\(why))"
            }
            if name.hasPrefix("--tls-") {
                return "--serve-option \(name): not with --manage (the load generator and the probes speak plain HTTP to loopback)"
            }
        }
        return nil
    }
}
