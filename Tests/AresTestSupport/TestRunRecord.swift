import Foundation

/// What a test run keeps for the secret-leak check (issue 11): every output of the `ares`
/// processes the tests run, and every secret the tests create, in `$ARES_TEST_OUTPUT_DIR`
/// (set by scripts/test.sh). After the run, scripts/check-secret-leaks.py searches each output
/// for each secret; any hit fails the run. Without the variable nothing is recorded.
public enum TestRunRecord {
    /// The folder outputs go to; nil when the run does not record.
    public static var directory: URL? {
        guard let path = ProcessInfo.processInfo.environment["ARES_TEST_OUTPUT_DIR"], !path.isEmpty else { return nil }
        return URL(fileURLWithPath: path, isDirectory: true)
    }

    /// The file secrets are listed in, one a line (not an output: the checker skips it).
    public static let secretsFileName = "secrets.txt"
    /// Marks outputs that show a secret on purpose (`ares keys create` prints the key it made).
    public static let intendedSecretMarker = "shows-secret"

    /// Remembers a credential the test made (an API key, a model key, a token, a password).
    public static func registerSecret(_ secret: String) {
        guard let directory, !secret.isEmpty, !secret.contains("\n") else { return }
        append(Data((secret + "\n").utf8), to: directory.appendingPathComponent(secretsFileName))
    }

    /// Keeps what one `ares` run printed.
    public static func recordOutput(arguments: [String], stdout: String, stderr: String) {
        guard let directory else { return }
        let command = arguments.prefix(2).filter { !$0.hasPrefix("-") }.joined(separator: "-")
        let name = "cli-\(UUID().uuidString)-\(command.isEmpty ? "ares" : command)"
        // `ares keys create` prints the new key: that is its job, not a leak; the key is
        // remembered, and with it its secret part alone (showing that would leak it too).
        let createsKey = arguments.starts(with: ["keys", "create"])
        if createsKey {
            for line in stdout.split(separator: "\n") where line.hasPrefix("ares_") {
                registerSecret(String(line))
                // `ares_<12 hex digits>_<secret>`; the base64url secret may contain underscores.
                let secret = line.dropFirst("ares_".count + 12 + 1)
                if secret.count >= 16 { registerSecret(String(secret)) }
            }
        }
        let stdoutName = createsKey ? "\(name).\(intendedSecretMarker).stdout" : "\(name).stdout"
        try? Data(stdout.utf8).write(to: directory.appendingPathComponent(stdoutName))
        try? Data(stderr.utf8).write(to: directory.appendingPathComponent("\(name).stderr"))
    }

    /// Where a long-running `ares` process (a server) writes its log: in the record folder
    /// when there is one, else `fallback`.
    public static func logFile(named name: String, fallback: URL) -> URL {
        directory?.appendingPathComponent(name) ?? fallback
    }

    /// Appends in one write (lines are short: concurrent tests never interleave within one).
    private static func append(_ data: Data, to file: URL) {
        let descriptor = open(file.path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        _ = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }
}
