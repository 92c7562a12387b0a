import Foundation
import AresTestSupport

/// An identity provider made of two files served by Python's http.server on a loopback port:
/// a discovery document and a JWKS the test writes (for algorithms and claims nanoidp does not
/// produce: PS256, ES256, EdDSA, a missing `sub`, nested role claims). The JWKS can be
/// rewritten while it runs. With a certificate and key it serves HTTPS.
final class StaticIdentityProvider: @unchecked Sendable {
    let issuer: String
    let directory: URL
    private let process = Process()

    init(jwks: [[String: Any]], issuerPath: String = "", discoveryIssuer: String? = nil, tls: (certificate: String, key: String)? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("static-idp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent(issuerPath + "/.well-known"), withIntermediateDirectories: true)
        let port = try NanoIDP.freeLoopbackPort()
        issuer = (tls == nil ? "http" : "https") + "://127.0.0.1:\(port)" + issuerPath
        let discovery: [String: Any] = ["issuer": discoveryIssuer ?? issuer, "jwks_uri": issuer + "/jwks.json"]
        try JSONSerialization.data(withJSONObject: discovery).write(to: directory.appendingPathComponent(issuerPath + "/.well-known/openid-configuration"))
        try publish(jwks)
        process.executableURL = NanoIDP.venv.appendingPathComponent("bin/python")
        if let tls {
            let script = """
                import functools, http.server, ssl, sys
                handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
                server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), handler)
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(sys.argv[3], sys.argv[4])
                server.socket = context.wrap_socket(server.socket, server_side=True)
                server.serve_forever()
                """
            process.arguments = ["-c", script, directory.path, String(port), tls.certificate, tls.key]
        } else {
            process.arguments = ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", directory.path]
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if Self.listening(port: port) { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        stop()
        throw NanoIDP.Failure("the static identity provider did not start")
    }

    deinit { stop() }

    func publish(_ keys: [[String: Any]]) throws {
        let path = issuer.split(separator: "/", omittingEmptySubsequences: false).dropFirst(3).joined(separator: "/")
        let file = directory.appendingPathComponent((path.isEmpty ? "" : path + "/") + "jwks.json")
        try JSONSerialization.data(withJSONObject: ["keys": keys]).write(to: file, options: .atomic)
    }

    /// Whether something accepts TCP connections on the loopback port.
    static func listening(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port)).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
