import Foundation

/// A throwaway public-key infrastructure made with the `openssl` command line in a temporary
/// directory, for the TLS tests: a CA, a foreign CA, server certificates for 127.0.0.1 and
/// localhost, client certificates with URI, DNS or only common names, and expired ones. Keys
/// are P-256 and generated at run time; nothing is checked in.
final class TestPKI: @unchecked Sendable {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ares-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try makeCA("ca", commonName: "ares test CA")
        try makeCA("foreign-ca", commonName: "someone else's CA")
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// `name.pem` and `name.key`: a server certificate for 127.0.0.1 and localhost with `serial` (hex).
    func makeServerCertificate(_ name: String, serial: String, days: Int = 30) throws {
        try makeLeaf(name, subject: "/CN=\(name)", extensions: [
            "basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature",
            "extendedKeyUsage=serverAuth", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ], serial: serial, issuer: "ca", days: days)
    }

    /// `name.pem` and `name.key`: a client certificate; `alternativeName` like
    /// `URI:spiffe://orch/gateway` or `DNS:ops.internal`, nil for a common name only.
    func makeClientCertificate(_ name: String, commonName: String, alternativeName: String?, issuer: String = "ca",
                               expired: Bool = false) throws {
        var extensions = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=clientAuth"]
        if let alternativeName { extensions.append("subjectAltName=\(alternativeName)") }
        try makeLeaf(name, subject: "/CN=\(commonName)", extensions: extensions, serial: String(format: "%llx", UInt64.random(in: 1...UInt64(Int64.max))),
                     issuer: issuer, days: 30, expired: expired)
    }

    /// The serial number of the certificate in `file`, as `openssl x509 -serial` prints it (upper-case hex).
    func serial(ofCertificate file: String) throws -> String {
        let out = try Tool.run("openssl", ["x509", "-in", path(file), "-noout", "-serial"])
        return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
    }

    // MARK: openssl

    private func makeCA(_ name: String, commonName: String) throws {
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path("\(name).key")])
        try openssl(["req", "-x509", "-new", "-key", path("\(name).key"), "-out", path("\(name).pem"), "-days", "30",
                     "-subj", "/CN=\(commonName)", "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    }

    private func makeLeaf(_ name: String, subject: String, extensions: [String], serial: String, issuer: String, days: Int,
                          expired: Bool = false) throws {
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path("\(name).key")])
        try openssl(["req", "-new", "-key", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject])
        let extensionFile = path("\(name).ext")
        try (extensions.joined(separator: "\n") + "\n").write(toFile: extensionFile, atomically: true, encoding: .utf8)
        if expired {
            // `openssl x509 -req` cannot backdate a certificate; `openssl ca` can, with a minimal CA setup.
            let caDirectory = directory.appendingPathComponent("ca-db-\(name)")
            try FileManager.default.createDirectory(at: caDirectory, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: caDirectory.appendingPathComponent("index.txt").path, contents: Data())
            // `openssl ca` reads the serial file as whole bytes: an odd number of hex digits fails.
            let evenSerial = serial.count % 2 == 0 ? serial : "0" + serial
            try "\(evenSerial)\n".write(to: caDirectory.appendingPathComponent("serial"), atomically: true, encoding: .utf8)
            let configuration = """
                [ca]
                default_ca = test
                [test]
                dir = \(caDirectory.path)
                database = $dir/index.txt
                new_certs_dir = $dir
                serial = $dir/serial
                certificate = \(path("\(issuer).pem"))
                private_key = \(path("\(issuer).key"))
                default_md = sha256
                policy = any
                unique_subject = no
                [any]
                commonName = supplied

                """
            let configurationFile = caDirectory.appendingPathComponent("ca.cnf").path
            try configuration.write(toFile: configurationFile, atomically: true, encoding: .utf8)
            try openssl(["ca", "-batch", "-config", configurationFile, "-in", path("\(name).csr"), "-out", path("\(name).pem"),
                         "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-extfile", extensionFile, "-notext"])
        } else {
            try openssl(["x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(issuer).pem"), "-CAkey", path("\(issuer).key"),
                         "-set_serial", "0x\(serial)", "-days", String(days), "-extfile", extensionFile, "-out", path("\(name).pem")])
        }
    }

    private func openssl(_ arguments: [String]) throws {
        let outcome = try Tool.run("openssl", arguments)
        guard outcome.status == 0 else {
            throw ServerProcess.Failure("openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(outcome.stderr)")
        }
    }
}

/// A command-line tool (curl, openssl) run to its end; a missing tool fails the test saying so.
enum Tool {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ tool: String, _ arguments: [String], input: String? = nil, timeout: TimeInterval = 60) throws -> Outcome {
        guard let executable = ["/usr/bin/\(tool)", "/usr/local/bin/\(tool)", "/bin/\(tool)"]
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ServerProcess.Failure("\(tool) is not installed: the TLS tests need it (Debian: apt-get install -y \(tool))")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try? stdin.fileHandleForWriting.close()
        let killer = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        // Both pipes are drained at once, so a chatty tool never blocks on a full one.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        killer.cancel()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                       stderr: String(decoding: errData, as: UTF8.self))
    }
}
