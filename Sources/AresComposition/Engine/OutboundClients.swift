import Foundation
import Knowledge
import Synchronization

/// The HTTP clients of ares's outgoing calls, as the configuration's outbound TLS settings
/// make them: the shared model-endpoint client when nothing is configured, else one client
/// per distinct setting for the life of the process (clients pool connections; making one
/// per call would not).
public enum OutboundClients {
    private static let modelClients = Mutex<[OutboundTLSFiles: ModelEndpointHTTPClient]>([:])

    /// The client for model and embedding endpoints.
    public static func modelEndpoints(_ configuration: AresConfiguration) throws -> ModelEndpointHTTPClient {
        let files = configuration.outbound.modelEndpointFiles
        if files.isEmpty { return .shared }
        if let existing = modelClients.withLock({ $0[files] }) { return existing }
        let client = try ModelEndpointHTTPClient(tls: files)
        return modelClients.withLock { clients in
            if let existing = clients[files] { return existing }
            clients[files] = client
            return client
        }
    }
}

extension AresConfiguration.Outbound {
    /// What model and embedding endpoints get: the extra CAs and the client certificate.
    public var modelEndpointFiles: OutboundTLSFiles {
        OutboundTLSFiles(trustedCAFile: caFile, clientCertificateFile: modelClientCertificateFile, clientKeyFile: modelClientKeyFile)
    }

    /// What the other endpoints (webhooks, identity provider, telemetry) get: the extra CAs only.
    public var trustedCAFiles: OutboundTLSFiles {
        OutboundTLSFiles(trustedCAFile: caFile)
    }
}
