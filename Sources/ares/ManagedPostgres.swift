import Foundation
import Resilience
#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL 15 cluster `ares validate --manage --database managed` runs for its replicas:
/// initdb into the run's work directory, TCP on 127.0.0.1 only with scram-sha-256, fsync on,
/// the role `ares` owning the database `ares` with a password made now. The password lives only
/// in a file (mode 600) that the replicas read through `ARES_DATABASE_PASSWORD_FILE`; it reaches
/// psql on standard input, never on a command line. The same steps as
/// scripts/postgres-test-cluster.sh, in the binary, because `ares validate` runs where the
/// repository's scripts are not. A watchdog stops the cluster if this process dies without
/// stopping it (a SIGKILLed validator must not leave a server running).
final class ManagedPostgres: @unchecked Sendable {
    // @unchecked: set once in `start`; `stop` runs from the one task that owns the run.
    let directory: URL
    let port: Int
    let passwordFile: URL
    /// `directory`/cluster: the postgres user's own (mode 700); the data directory, the log, the
    /// socket, and what the restore phase makes (archive, base backup, recovered copy) live in it.
    let clusterDirectory: URL
    let socketDirectory: URL
    let logFile: URL
    /// The cluster's files now: the restore phase recovers into a new directory, the disk phase
    /// moves them onto a filesystem made for the run and back (ManagedPostgres+Recovery.swift
    /// sets it; nothing else should).
    var dataDirectory: URL {
        didSet { recordDataDirectory() }
    }
    private var stopped = false

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Where the PostgreSQL 15 programs are ($PG_BIN overrides, as for the test script).
    static var binDirectory: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["PG_BIN"] ?? "/usr/lib/postgresql/15/bin")
    }

    /// Why a cluster cannot be made here, or nil when it can.
    static func unavailableReason() -> String? {
        for program in ["initdb", "pg_ctl", "psql"] where !FileManager.default.isExecutableFile(atPath: binDirectory.appendingPathComponent(program).path) {
            return "PostgreSQL 15 is not installed (\(binDirectory.appendingPathComponent(program).path) is missing; apt-get install postgresql-15)"
        }
        if getuid() == 0, !FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") && !FileManager.default.isExecutableFile(atPath: "/sbin/runuser") {
            return "running as root, and runuser (to run PostgreSQL as the postgres user, which it requires) is missing"
        }
        return nil
    }

    /// The URL the replicas connect with (no password in it).
    var url: String { "postgres://ares@127.0.0.1:\(port)/ares?sslmode=disable" }

    private init(directory: URL, port: Int, passwordFile: URL, clusterDirectory: URL) {
        self.directory = directory
        self.port = port
        self.passwordFile = passwordFile
        self.clusterDirectory = clusterDirectory
        socketDirectory = clusterDirectory.appendingPathComponent("socket")
        logFile = clusterDirectory.appendingPathComponent("server.log")
        dataDirectory = clusterDirectory.appendingPathComponent("data")
        recordDataDirectory()
    }

    /// Where the watchdog reads which data directory to stop (it moves; see `startWatchdog`).
    private var dataDirectoryRecord: URL { directory.appendingPathComponent("data-directory") }

    private func recordDataDirectory() {
        try? Data(dataDirectory.path.utf8).write(to: dataDirectoryRecord, options: .atomic)
    }

    deinit { stop() }

    /// Makes and starts the cluster under `directory` (created); returns once it accepts the role.
    static func start(in directory: URL) throws -> ManagedPostgres {
        if let reason = unavailableReason() { throw Failure(description: reason) }
        let cluster = directory.appendingPathComponent("cluster")
        let data = cluster.appendingPathComponent("data")
        let socket = cluster.appendingPathComponent("socket")
        try FileManager.default.createDirectory(at: socket, withIntermediateDirectories: true)
        // The postgres user must pass through the run's directory (whatever the umask made it);
        // the cluster's own directory is its alone.
        try FileManager.default.setAttributes([.posixPermissions: 0o711], ofItemAtPath: directory.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: cluster.path)
        if getuid() == 0 {
            _ = try run(URL(fileURLWithPath: "/bin/chown"), ["-R", "postgres:postgres", cluster.path], asPostgres: false, what: "chown")
        }
        let log = cluster.appendingPathComponent("server.log")
        _ = try run(binDirectory.appendingPathComponent("initdb"),
                    ["-D", data.path, "--username=postgres", "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8",
                     "--no-locale", "--no-instructions"], what: "initdb")
        var port = 0
        for attempt in 1...5 {
            port = try freePort()
            let settings = """

                # ares validate --manage (attempt \(attempt))
                port = \(port)
                listen_addresses = '127.0.0.1'
                unix_socket_directories = '\(socket.path)'
                fsync = on
                synchronous_commit = on
                max_connections = 300
                shared_buffers = 64MB
                # WAL archiving is on from the start (turning it on needs a restart) and discards
                # every file until the restore phase names an archive (archive_command reloads).
                wal_level = replica
                archive_mode = on
                archive_command = '/bin/true'

                """
            let configuration = try FileHandle(forWritingTo: data.appendingPathComponent("postgresql.conf"))
            try configuration.seekToEnd()
            try configuration.write(contentsOf: Data(settings.utf8))
            try configuration.close()
            // Another process may take the port between the probe and the start: try another.
            if (try? run(binDirectory.appendingPathComponent("pg_ctl"), ["-D", data.path, "-l", log.path, "-w", "-t", "60", "start"], what: "pg_ctl start")) != nil {
                break
            }
            port = 0
        }
        guard port != 0 else {
            throw Failure(description: "the PostgreSQL cluster did not start; its log is \(log.path): \((try? String(contentsOf: log, encoding: .utf8))?.suffix(1000) ?? "")")
        }
        let postgres = ManagedPostgres(directory: directory, port: port, passwordFile: directory.appendingPathComponent("password"), clusterDirectory: cluster)
        postgres.startWatchdog()
        // Letters and digits only: nothing to quote in SQL.
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        let password = String((0..<32).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
        FileManager.default.createFile(atPath: postgres.passwordFile.path, contents: Data(password.utf8), attributes: [.posixPermissions: 0o600])
        do {
            _ = try run(binDirectory.appendingPathComponent("psql"),
                        ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", socket.path, "-p", "\(port)", "-U", "postgres", "-d", "postgres"],
                        input: "CREATE ROLE ares LOGIN PASSWORD '\(password)';\nCREATE DATABASE ares OWNER ares;\n", what: "psql (role and database)")
        } catch let failure as Failure {
            // psql may quote the statement it refused: never the password.
            postgres.stop()
            throw Failure(description: failure.description.replacingOccurrences(of: password, with: "[redacted]"))
        }
        return postgres
    }

    /// Stops the cluster (immediate: it is thrown away) and removes it.
    func stop() {
        guard !stopped else { return }
        stopped = true
        _ = try? Self.run(Self.binDirectory.appendingPathComponent("pg_ctl"), ["-D", dataDirectory.path, "-m", "immediate", "-w", "-t", "30", "stop"],
                          what: "pg_ctl stop")
        try? FileManager.default.removeItem(at: directory)
    }

    /// A detached shell that stops the cluster once this process has ended, unless it was stopped
    /// (then its directory is gone). The data directory it stops is the one recorded last (the
    /// phases move it); `--one-file-system`: a filesystem made for the run may be mounted below.
    private func startWatchdog() {
        let pgctl = Self.binDirectory.appendingPathComponent("pg_ctl").path
        let stopCommand = getuid() == 0 ? "runuser -u postgres -- \"$2\" -D \"$data\" -m immediate -w -t 30 stop" : "\"$2\" -D \"$data\" -m immediate -w -t 30 stop"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "while kill -0 \"$1\" 2>/dev/null && [ -d \"$4\" ]; do sleep 1; done; data=\"$(cat \"$3\" 2>/dev/null)\"; [ -n \"$data\" ] && [ -d \"$data\" ] && \(stopCommand); rm -rf --one-file-system \"$4\"",
                             "watchdog", "\(getpid())", pgctl, dataDirectoryRecord.path, directory.path]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    private static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "no socket for a port probe (errno \(errno))") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        guard bound == 0 else { throw Failure(description: "could not bind a port probe (errno \(errno))") }
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        guard named == 0 else { throw Failure(description: "could not read the probe's port (errno \(errno))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs a PostgreSQL program (as the postgres user when this is root: PostgreSQL refuses
    /// root) to its end; its output goes to a file, not a pipe, because `pg_ctl start` leaves a
    /// server behind that would hold a pipe open. A non-zero exit throws with the output.
    @discardableResult
    static func run(_ program: URL, _ arguments: [String], input: String? = nil, asPostgres: Bool = true, what: String) throws -> String {
        let process = Process()
        var command = [program.path] + arguments
        if asPostgres, getuid() == 0 {
            let runuser = FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser"
            command = [runuser, "-u", "postgres", "--"] + command
        }
        // Every descriptor but 0, 1 and 2 is closed before the program starts: `pg_ctl start`
        // leaves a server behind, and Foundation.Process learns of its child's exit from a
        // descriptor closing, so an inherited one would make it wait for the server to stop.
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", #"for fd in $(ls /proc/$$/fd); do case "$fd" in 0|1|2|255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac; done; exec "$@""#,
                             "ares-validate-postgres"] + command
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("ares-validate-pg-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outputFile.path, contents: nil, attributes: [.posixPermissions: 0o600])
        defer { try? FileManager.default.removeItem(at: outputFile) }
        let output = try FileHandle(forWritingTo: outputFile)
        defer { try? output.close() }
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            try stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        // Not `waitUntilExit()`: the descriptors closed above include Foundation's exit signal,
        // and it then may never notice the end (ChildProcessExit says why).
        let exit = ChildProcessExit.wait(for: process)
        let text = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        guard exit.succeeded else {
            throw Failure(description: "\(what) failed with \(exit): \(text.suffix(1500))")
        }
        return text
    }
}
