import Security

/// How `ares serve` speaks TLS: the files of its certificate chain and private key, and whether
/// (and against which CA) it verifies client certificates. Paths only: the files are read when
/// the server starts and re-read whenever they change (`TLSCredentialReloader`).
public struct ServerTLSSettings: Sendable, Equatable {
    /// Whether the handshake asks for a client certificate, and whether it fails without one.
    public enum ClientAuthentication: String, Sendable, Equatable, CaseIterable {
        /// No client certificate is asked for.
        case none
        /// A presented certificate must chain to the client CA (else the handshake fails);
        /// a client without one gets in and authenticates with an API key or token.
        case optional
        /// The handshake fails without a client certificate that chains to the client CA.
        case require
    }

    /// The PEM certificate chain, the server's own certificate first.
    public var certificateFile: String
    /// The PEM private key of that certificate.
    public var keyFile: String
    /// The PEM CA bundle client certificates must chain to; required unless `clientAuthentication` is `.none`.
    public var clientCAFile: String?
    public var clientAuthentication: ClientAuthentication
    /// Certificate identity (URI SAN, else DNS SAN, else subject CN) → role. A verified
    /// certificate whose identity is not here is no principal.
    public var clientRoleMap: [String: Role]
    /// How often the files are checked for a change.
    public var reloadInterval: Duration
    /// A serving certificate that expires within this time is logged as a warning.
    public var expiryWarning: Duration

    public init(certificateFile: String, keyFile: String, clientCAFile: String? = nil,
                clientAuthentication: ClientAuthentication? = nil, clientRoleMap: [String: Role] = [:],
                reloadInterval: Duration = .seconds(2), expiryWarning: Duration = .seconds(14 * 24 * 3600)) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
        // A client CA on its own means client certificates are required: deny by default.
        self.clientAuthentication = clientAuthentication ?? (clientCAFile == nil ? .none : .require)
        self.clientRoleMap = clientRoleMap
        self.reloadInterval = reloadInterval
        self.expiryWarning = expiryWarning
    }

    /// Whether client certificates are asked for (and so verified).
    public var verifiesClientCertificates: Bool { clientAuthentication != .none }
}
