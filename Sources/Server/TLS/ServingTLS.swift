import HummingbirdCore
import Logging
import ServiceLifecycle

/// TLS for `ares serve`, assembled once at start: the reloading credentials (a `Service`), the
/// table of verified client certificates, and the Hummingbird server builder that puts TLS in
/// front of the HTTP/1.1 channel. `AresServer.makeApplication` serves HTTPS when given one.
public struct ServingTLS: Sendable {
    public let settings: ServerTLSSettings
    public let credentials: TLSCredentialReloader
    /// Nil when client certificates are not asked for.
    public let clientCertificates: ClientCertificateRegistry?
    let metrics: ServerMetrics

    /// Reads and checks the files; throws `TLSSetupError` (one line naming the setting and file)
    /// when they cannot be served.
    public init(settings: ServerTLSSettings, metrics: ServerMetrics, logger: Logger) throws(TLSSetupError) {
        self.settings = settings
        self.metrics = metrics
        credentials = try TLSCredentialReloader(settings: settings, metrics: metrics, logger: logger)
        clientCertificates = settings.verifiesClientCertificates ? ClientCertificateRegistry() : nil
    }

    /// HTTP/1.1 over TLS with `http1`'s handlers and limits.
    func serverBuilder(_ http1: HTTP1Channel.Configuration) -> HTTPServerBuilder {
        let (credentials, clientCertificates, metrics) = (self.credentials, self.clientCertificates, self.metrics)
        return HTTPServerBuilder { responder in
            ReloadingTLSChannel(base: HTTP1Channel(responder: responder, configuration: http1), credentials: credentials,
                                clientCertificates: clientCertificates, metrics: metrics)
        }
    }

    /// The services TLS runs beside the server (the file watcher).
    var services: [any Service] { [credentials] }
}
