import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the phases of `ares validate --manage --database managed` do to the cluster the run
/// started: archive its WAL and take a base backup, lose it as a machine is lost and recover it
/// to the end of the archive (the restore phase), move its files to another filesystem and back
/// (the disk phase). PostgreSQL's own tools do the work, as docs/operations.md and
/// scripts/drills/postgres-restore.sh describe them for an operator's cluster.
extension ManagedPostgres {
    /// SQL run as the superuser over the cluster's socket; psql's unaligned, tuples-only output.
    @discardableResult
    func superuserSQL(_ sql: String, what: String) throws -> String {
        try Self.run(Self.binDirectory.appendingPathComponent("psql"),
                     ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", socketDirectory.path, "-p", "\(port)", "-U", "postgres", "-d", "postgres"],
                     input: sql, what: what)
    }

    /// A new directory (mode 700) of the postgres user's, in the cluster's directory.
    func makeOwnDirectory(_ name: String) throws -> URL {
        let url = clusterDirectory.appendingPathComponent(name)
        try Self.run(URL(fileURLWithPath: "/bin/mkdir"), ["-m", "700", url.path], what: "mkdir \(name)")
        return url
    }

    /// From now on every finished WAL file is copied into `archive` (never over one already there),
    /// and one is finished at least every `timeoutSeconds`: the archive's RPO.
    func archiveWAL(into archive: URL, timeoutSeconds: Int) throws {
        let command = "test ! -f \(archive.path)/%f && cp %p \(archive.path)/%f".replacingOccurrences(of: "'", with: "''")
        try superuserSQL("ALTER SYSTEM SET archive_command = '\(command)';\nALTER SYSTEM SET archive_timeout = \(max(1, timeoutSeconds));\nSELECT pg_reload_conf();\n",
                         what: "psql (WAL archiving on)")
    }

    /// A base backup of the running cluster into `destination` (made): pg_basebackup with the WAL
    /// written meanwhile streamed alongside, so the copy is consistent by itself.
    func baseBackup(into destination: URL) throws {
        try Self.run(Self.binDirectory.appendingPathComponent("pg_basebackup"),
                     ["-h", socketDirectory.path, "-p", "\(port)", "-U", "postgres", "-D", destination.path, "-X", "stream", "-c", "fast"],
                     what: "pg_basebackup")
    }

    /// The WAL files in `archive` now.
    func archivedFiles(in archive: URL) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: archive.path)) ?? []).count
    }

    /// SIGKILL to the postmaster, as when its machine is lost: no checkpoint, the WAL file being
    /// written never archived. Its backends end once they notice (PostgreSQL watches for its
    /// postmaster's death); returns once the port refuses connections.
    func kill9() throws {
        let record = dataDirectory.appendingPathComponent("postmaster.pid")
        guard let text = try? String(contentsOf: record, encoding: .utf8),
              let first = text.split(separator: "\n").first, let pid = Int32(first), pid > 0 else {
            throw Failure(description: "no postmaster.pid in \(dataDirectory.path): the cluster is not running")
        }
        guard kill(pid, SIGKILL) == 0 else { throw Failure(description: "kill -9 \(pid) failed (errno \(errno))") }
        let deadline = Date().addingTimeInterval(30)
        while Self.acceptsConnections(port: port), Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        // A cluster recovered elsewhere would not find the lost machine's socket files; here one
        // left behind would stop it while its dead postmaster is not yet reaped.
        for name in [".s.PGSQL.\(port)", ".s.PGSQL.\(port).lock"] {
            try? FileManager.default.removeItem(at: socketDirectory.appendingPathComponent(name))
        }
    }

    /// Recovers everything archived into a new cluster at `destination` and makes it this one:
    /// `base` copied, `restore_command` reading `archive`, recovery.signal, started on the same
    /// port; returns once replay is over and it is promoted (out of recovery). The lost cluster's
    /// files are left where they were.
    func recover(from base: URL, archive: URL, into destination: URL, within seconds: Double) throws {
        try Self.run(URL(fileURLWithPath: "/bin/cp"), ["-a", base.path, destination.path], what: "cp -a (the base backup)")
        // postgresql.auto.conf wins over postgresql.conf, and the base's names the lost cluster's
        // archive: the recovered one reads it and never writes into it (a new timeline must not
        // mix with the old one's).
        let settings = """

            # ares validate: recovery of everything archived
            restore_command = 'cp \(archive.path.replacingOccurrences(of: "'", with: "''"))/%f %p'
            archive_command = '/bin/true'

            """
        try Self.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "cat >> \"$1/postgresql.auto.conf\" && touch \"$1/recovery.signal\"", "recover", destination.path],
                     input: settings, what: "recovery settings")
        try Self.run(Self.binDirectory.appendingPathComponent("pg_ctl"), ["-D", destination.path, "-l", logFile.path, "-w", "-t", "\(Int(seconds))", "start"],
                     what: "pg_ctl start (recovery)")
        dataDirectory = destination
        // pg_ctl returns once connections are accepted, which a hot standby does while it still replays.
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? superuserSQL("SELECT pg_is_in_recovery();\n", what: "psql (recovery state)"))?.trimmingCharacters(in: .whitespacesAndNewlines) == "f" {
                return
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw Failure(description: "the recovered cluster was still in recovery after \(Int(seconds)) s; its log is \(logFile.path)")
    }

    /// Moves the cluster's files to `destination`: stopped (fast: sessions end, a checkpoint),
    /// copied with their owners and modes, started there; the old copy removed once it runs. When
    /// the copy or the start fails, the cluster runs from its old files again.
    func relocate(to destination: URL) throws {
        let source = dataDirectory
        let pgctl = Self.binDirectory.appendingPathComponent("pg_ctl")
        try Self.run(pgctl, ["-D", source.path, "-m", "fast", "-w", "-t", "60", "stop"], what: "pg_ctl stop")
        do {
            // As root: the destination's parent is root's (a mount point); cp -a keeps postgres the owner.
            try Self.run(URL(fileURLWithPath: "/bin/cp"), ["-a", source.path, destination.path], asPostgres: false, what: "cp -a (the cluster's files)")
            try Self.run(pgctl, ["-D", destination.path, "-l", logFile.path, "-w", "-t", "120", "start"], what: "pg_ctl start (moved)")
        } catch {
            try? Self.run(URL(fileURLWithPath: "/bin/rm"), ["-rf", "--one-file-system", destination.path], asPostgres: false, what: "rm")
            try? Self.run(pgctl, ["-D", source.path, "-l", logFile.path, "-w", "-t", "120", "start"], what: "pg_ctl start (not moved)")
            throw error
        }
        dataDirectory = destination
        try? Self.run(URL(fileURLWithPath: "/bin/rm"), ["-rf", "--one-file-system", source.path], asPostgres: false, what: "rm (the old copy)")
    }

    /// Starts the cluster from its current files when it is not running (after a failed phase:
    /// a crash-stopped cluster replays its WAL first).
    func startIfStopped() throws {
        let pgctl = Self.binDirectory.appendingPathComponent("pg_ctl")
        if (try? Self.run(pgctl, ["-D", dataDirectory.path, "status"], what: "pg_ctl status")) != nil { return }
        try Self.run(pgctl, ["-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "600", "start"], what: "pg_ctl start")
    }

    /// Bytes of the cluster's files (what a filesystem to move them onto must hold).
    var dataBytes: Int64 { ManagedPhaseActions.bytes(under: dataDirectory) }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func acceptsConnections(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port)).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return connected == 0
    }
}
