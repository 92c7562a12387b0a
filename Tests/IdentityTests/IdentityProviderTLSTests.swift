import Crypto
import Foundation
import Logging
import NIOSSL
import Security
import Testing
@testable import Identity

/// An identity provider behind HTTPS with a private CA (certificates made by the openssl
/// command line at run time): trusted through the TLS configuration ares builds from
/// `--ca-file`, refused without it.
@Suite struct IdentityProviderTLSTests {
    static func openssl(_ arguments: [String], in directory: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            throw StaticFailure("the openssl command line is missing: apt-get install openssl")
        }
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw StaticFailure("openssl \(arguments.joined(separator: " ")) failed") }
    }

    struct StaticFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// A CA and a server certificate for 127.0.0.1 signed by it.
    static func certificates() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("idp-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
                     "-days", "2", "-subj", "/CN=ares test identity CA"], in: directory)
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr",
                     "-subj", "/CN=127.0.0.1"], in: directory)
        try "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(to: directory.appendingPathComponent("server.ext"), atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
                     "-days", "2", "-extfile", "server.ext"], in: directory)
        return directory
    }

    @Test func aProviderBehindAPrivateCAIsTrustedOnlyWithThatCA() async throws {
        let certificates = try Self.certificates()
        let key = P256.Signing.PrivateKey()
        let provider = try StaticIdentityProvider(jwks: [OIDCTokenVerifierTests.jwk(key, kid: "k")],
                                                  tls: (certificates.appendingPathComponent("server.pem").path, certificates.appendingPathComponent("server.key").path))
        #expect(provider.issuer.hasPrefix("https://"))
        var settings = try OIDCSettings(issuer: try #require(URL(string: provider.issuer)), audience: OIDCTokenVerifierTests.audience,
                                        roleClaim: "scope", roleMap: try RoleMap(parsing: "ares=researcher"))
        settings.requestTimeout = .seconds(3)

        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(certificates.appendingPathComponent("ca.pem").path))]
        let verifier = OIDCTokenVerifier(settings: settings, tlsConfiguration: trusting, logger: Logger(label: "test"))
        let loaded = await verifier.loadKeys()
        #expect(loaded.loaded && loaded.keyCount == 1, "\(loaded)")
        let claims = OIDCTokenVerifierTests.claims(issuer: provider.issuer, extra: ["scope": "ares"])
        let token = try TokenForgery.signed(header: ["alg": "ES256", "kid": "k"], payload: claims) { try key.signature(for: $0).rawRepresentation }
        guard case .authenticated = await verifier.verify(token) else { Issue.record("refused over HTTPS: \(await verifier.verify(token))"); return }

        // The system's CAs alone do not know the private CA: no keys, and a clear reason.
        let untrusting = OIDCTokenVerifier(settings: settings, tlsConfiguration: .makeClientConfiguration(), logger: Logger(label: "test"))
        let refused = await untrusting.loadKeys()
        #expect(!refused.loaded)
        #expect(OIDCTokenVerifierTests.reason(await untrusting.verify(token)).contains("identity provider is unavailable"))
    }
}
