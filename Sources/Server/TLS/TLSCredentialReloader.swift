import Foundation
import Logging
import NIOSSL
import ServiceLifecycle
import Synchronization

/// Holds the TLS credentials new connections are served with, and swaps them when the files
/// change on disk: certificate rotation without a restart. Run as a `Service` beside the HTTP
/// server; every `reloadInterval` it hashes the files (a few kilobytes) and, when the digest
/// differs from the one in use, loads and checks them again. Connections already open keep the
/// context they started with; each new one takes `current` as it is accepted.
///
/// A change that does not load (an unparsable file, a key that does not match the certificate —
/// also what a rotation looks like between writing the certificate and writing its key) keeps
/// the previous credentials. It is logged as an error only once the files have stayed that way
/// for a whole interval, so that a rotation that writes the two files one after the other does
/// not raise a false alarm. Logs name files and reasons, never their content.
public final class TLSCredentialReloader: Service, Sendable {
    public let settings: ServerTLSSettings
    private let metrics: ServerMetrics
    private let logger: Logger

    private struct State {
        var credentials: TLSCredentials
        /// The digest of files that failed to load at the previous check (reported once stable).
        var failedDigest: [UInt8]?
        /// The digest already reported as failing, so that the error is logged once per change.
        var reportedDigest: [UInt8]?
        /// When the expiry warning was last logged.
        var lastExpiryWarning: ContinuousClock.Instant?
    }

    private let state: Mutex<State>

    /// Loads the files once; throws when they cannot be served (the server must not start).
    public init(settings: ServerTLSSettings, metrics: ServerMetrics, logger: Logger) throws(TLSSetupError) {
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        let credentials = try TLSCredentials.load(settings)
        state = Mutex(State(credentials: credentials))
        announce(credentials, event: "serving TLS certificate")
    }

    /// The context a connection accepted now is served with.
    var current: NIOSSLContext { state.withLock { $0.credentials.context } }

    /// The serial number (hex) of the certificate being served.
    public var servingSerialNumber: String { state.withLock { $0.credentials.serialNumber } }

    public func run() async throws {
        // Stops at graceful shutdown (or cancellation); a sleep cut short ends the loop.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: self.settings.reloadInterval) } catch { return }
                self.check()
            }
        }
    }

    /// Compares the files with the credentials in use and reloads them when they differ.
    /// Also repeats the expiry warning once a day while the certificate is close to expiring.
    func check() {
        let (inUse, failed) = state.withLock { ($0.credentials.filesDigest, $0.failedDigest) }
        guard let digest = TLSCredentials.currentDigest(settings) else {
            // A file is missing for a moment (being replaced) or unreadable: keep serving, and
            // let a later check report it if it stays that way.
            reportFailure(digest: [], reason: "a TLS file cannot be read: \(settings.certificateFile), \(settings.keyFile)"
                          + (settings.clientCAFile.map { ", \($0)" } ?? ""), previouslyFailed: failed)
            warnIfExpiring()
            return
        }
        guard digest != inUse else {
            // Back to the files in use (a bad change undone): a later bad change is reported again.
            state.withLock {
                $0.failedDigest = nil
                $0.reportedDigest = nil
            }
            warnIfExpiring()
            return
        }
        do {
            let credentials = try TLSCredentials.load(settings)
            state.withLock {
                $0.credentials = credentials
                $0.failedDigest = nil
                $0.reportedDigest = nil
                $0.lastExpiryWarning = nil
            }
            announce(credentials, event: "reloaded TLS certificate")
        } catch {
            reportFailure(digest: digest, reason: error.description, previouslyFailed: failed)
        }
    }

    private func reportFailure(digest: [UInt8], reason: String, previouslyFailed: [UInt8]?) {
        let report = state.withLock { state -> Bool in
            defer { state.failedDigest = digest }
            guard previouslyFailed == digest, state.reportedDigest != digest else { return false }
            state.reportedDigest = digest
            return true
        }
        guard report else { return }
        logger.error("the changed TLS files cannot be served; new connections keep the previous certificate", metadata: [
            "reason": .string(reason),
            "servingSerial": .string(servingSerialNumber),
        ])
        metrics.recordTLSReloadFailure()
    }

    private func announce(_ credentials: TLSCredentials, event: String) {
        metrics.recordServingCertificate(notValidAfter: credentials.notValidAfter)
        logger.info("\(event)", metadata: [
            "certificate": .string(settings.certificateFile),
            "serial": .string(credentials.serialNumber),
            "notAfter": .string(Self.timestamp(credentials.notValidAfter)),
            "clientAuthentication": .string(settings.clientAuthentication.rawValue),
        ])
        warnIfExpiring()
    }

    /// Logs a warning (an error once expired) when the serving certificate expires within
    /// `expiryWarning`, at most once a day for the same certificate.
    private func warnIfExpiring() {
        let now = ContinuousClock.now
        let (notAfter, serial, due) = state.withLock { state -> (Int64, String, Bool) in
            let due = state.lastExpiryWarning.map { now - $0 >= .seconds(24 * 3600) } ?? true
            return (state.credentials.notValidAfter, state.credentials.serialNumber, due)
        }
        let remaining = Double(notAfter) - Date().timeIntervalSince1970
        guard due, remaining < settings.expiryWarning.seconds else { return }
        state.withLock { $0.lastExpiryWarning = now }
        let metadata: Logger.Metadata = [
            "certificate": .string(settings.certificateFile), "serial": .string(serial),
            "notAfter": .string(Self.timestamp(notAfter)), "daysLeft": .stringConvertible(Int((max(remaining, 0) / 86400).rounded(.down))),
        ]
        if remaining <= 0 {
            logger.error("the serving TLS certificate has expired: clients will refuse it; replace the file (it is reloaded without a restart)", metadata: metadata)
        } else {
            logger.warning("the serving TLS certificate expires soon; replace the file (it is reloaded without a restart)", metadata: metadata)
        }
    }

    private static func timestamp(_ seconds: Int64) -> String {
        RFC3339.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
