import Prometheus

/// The TLS side of the server's metrics: when the serving certificate expires (alert on it
/// before clients start refusing the server), handshakes that failed (clients without a valid
/// certificate under mutual TLS, old protocol versions, scanners), and rotations that were
/// refused because the new files could not be served.
extension ServerMetrics {
    private static var certificateExpiry: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", metricName: "tls_certificate_expiry_timestamp", unitName: "seconds",
                             helpText: "When the serving TLS certificate expires (notAfter), seconds since the Unix epoch")
    }

    private static var handshakeFailures: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", metricName: "tls_handshake_failures", unitName: "total",
                             helpText: "TLS handshakes that failed (no or an invalid client certificate, an old protocol, ...)")
    }

    private static var reloadFailures: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", metricName: "tls_reload_failures", unitName: "total",
                             helpText: "Changed TLS files that could not be served (the previous certificate stayed)")
    }

    func recordServingCertificate(notValidAfter: Int64) {
        registry.makeGauge(descriptor: Self.certificateExpiry).set(to: Double(notValidAfter))
    }

    func recordTLSHandshakeFailure() {
        registry.makeCounter(descriptor: Self.handshakeFailures).increment()
    }

    func recordTLSReloadFailure() {
        registry.makeCounter(descriptor: Self.reloadFailures).increment()
    }
}
