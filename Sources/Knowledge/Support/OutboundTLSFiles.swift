import NIOSSL

/// The TLS files of ares's own outgoing calls: CAs trusted besides the system's (a private CA
/// in front of a model, an identity provider or a webhook receiver), and a client certificate
/// presented to the model and embedding endpoints. Server certificates are always verified,
/// host names included; nothing here can turn verification off.
public struct OutboundTLSFiles: Sendable, Hashable {
    /// A PEM bundle of CA certificates.
    public var trustedCAFile: String?
    /// A PEM certificate chain and its PEM private key.
    public var clientCertificateFile: String?
    public var clientKeyFile: String?

    public init(trustedCAFile: String? = nil, clientCertificateFile: String? = nil, clientKeyFile: String? = nil) {
        self.trustedCAFile = trustedCAFile
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
    }

    public var isEmpty: Bool { trustedCAFile == nil && clientCertificateFile == nil }

    /// A client TLS configuration (TLS 1.2 or later) that trusts the system's CAs and
    /// `trustedCAFile`, presenting the client certificate when asked to. Errors name the file
    /// that could not be used, never its contents.
    public func clientConfiguration(presentingCertificate: Bool) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let trustedCAFile {
            let certificates: [NIOSSLCertificate]
            do {
                certificates = try NIOSSLCertificate.fromPEMFile(trustedCAFile)
            } catch {
                throw OutboundTLSError("cannot read the CA file '\(trustedCAFile)' as PEM certificates: \(error)")
            }
            guard !certificates.isEmpty else { throw OutboundTLSError("the CA file '\(trustedCAFile)' holds no certificate") }
            configuration.additionalTrustRoots = [.certificates(certificates)]
        }
        if presentingCertificate, let clientCertificateFile, let clientKeyFile {
            do {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(clientCertificateFile).map { .certificate($0) }
            } catch {
                throw OutboundTLSError("cannot read the client certificate '\(clientCertificateFile)': \(error)")
            }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientKeyFile, format: .pem))
            } catch {
                throw OutboundTLSError("cannot read the client key '\(clientKeyFile)' (a PEM private key)")
            }
        }
        return configuration
    }
}

/// Outbound TLS files that cannot be used.
public struct OutboundTLSError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
