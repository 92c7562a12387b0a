import Server

extension AresConfiguration.TLS {
    /// What the HTTP server needs to serve HTTPS; nil: plain HTTP. The configuration has
    /// checked the combination already (a key with a certificate, a CA when client
    /// certificates are asked for); `ServingTLS` checks the files themselves.
    public var serverSettings: ServerTLSSettings? {
        guard let certificateFile, let keyFile else { return nil }
        let authentication: ServerTLSSettings.ClientAuthentication = switch clientAuthentication {
        case .none: .none
        case .optional: .optional
        case .require: .require
        }
        return ServerTLSSettings(certificateFile: certificateFile, keyFile: keyFile, clientCAFile: clientCAFile,
                                 clientAuthentication: authentication, clientRoleMap: clientRoleMap)
    }
}

extension AresConfiguration.TLS {
    /// Whether some client certificate can be a principal by itself, so that a server without
    /// API keys still has callers.
    public var grantsRolesByCertificate: Bool {
        isEnabled && clientAuthentication != .none && !clientRoleMap.isEmpty
    }
}
