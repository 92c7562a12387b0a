import Crypto
import Foundation
import NIOSSL

/// One consistent reading of the TLS files: the server-side `NIOSSLContext` built from them,
/// the facts about the serving certificate that metrics and logs report, and a digest of the
/// files' bytes by which the reloader notices a change.
///
/// Everything is checked here, before a context is ever used: the chain and key parse, the key
/// belongs to the certificate (BoringSSL refuses a mismatched pair when the context is made),
/// and the client CA parses. A failure names the setting and file, never their content.
struct TLSCredentials: @unchecked Sendable {
    // NIOSSLContext is thread-safe and shared by every connection; it is only not marked
    // Sendable in the version we build against.
    let context: NIOSSLContext
    /// The serving (leaf) certificate's expiry, seconds since the Unix epoch.
    let notValidAfter: Int64
    /// The serving certificate's serial number in hex, for logs.
    let serialNumber: String
    /// SHA-256 over the files' contents, in the order certificate, key, client CA.
    let filesDigest: [UInt8]

    /// PEM files are small; anything larger is not one of them and is not read into memory.
    static let maximumFileBytes = 1 << 20

    /// Reads and checks the files of `settings`; `TLSSetupError` says what is wrong.
    static func load(_ settings: ServerTLSSettings) throws(TLSSetupError) -> TLSCredentials {
        let certificateBytes = try readFile(settings.certificateFile, setting: "--tls-cert")
        var keyBytes = try readFile(settings.keyFile, setting: "--tls-key")
        // The key's bytes are dropped as soon as BoringSSL has its own copy.
        defer { keyBytes.resetBytes(in: 0..<keyBytes.count) }
        let caBytes = try settings.clientCAFile.map { path throws(TLSSetupError) in try readFile(path, setting: "--tls-client-ca") }
        if settings.verifiesClientCertificates, settings.clientCAFile == nil {
            throw TLSSetupError("--tls-client-auth \(settings.clientAuthentication.rawValue) needs --tls-client-ca: the CA that client certificates must chain to")
        }

        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(Array(certificateBytes))
        } catch {
            throw TLSSetupError("--tls-cert \(settings.certificateFile): not a PEM certificate chain (\(error))")
        }
        guard let leaf = chain.first else {
            throw TLSSetupError("--tls-cert \(settings.certificateFile): holds no PEM certificate")
        }
        let key: NIOSSLPrivateKey
        var keyArray = Array(keyBytes)
        defer { for index in keyArray.indices { keyArray[index] = 0 } }
        do {
            key = try NIOSSLPrivateKey(bytes: keyArray, format: .pem)
        } catch {
            // The parser's message is not repeated: it could echo part of the file.
            throw TLSSetupError("--tls-key \(settings.keyFile): holds no unencrypted PEM private key that can be read")
        }
        var clientCAs: [NIOSSLCertificate] = []
        if let caBytes, let path = settings.clientCAFile {
            do {
                clientCAs = try NIOSSLCertificate.fromPEMBytes(Array(caBytes))
            } catch {
                throw TLSSetupError("--tls-client-ca \(path): not a PEM certificate bundle (\(error))")
            }
            guard !clientCAs.isEmpty else { throw TLSSetupError("--tls-client-ca \(path): holds no PEM certificate") }
        }

        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                     privateKey: .privateKey(key))
        // TLS 1.2 at least; BoringSSL negotiates 1.3 whenever the client offers it.
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = nil
        switch settings.clientAuthentication {
        case .none:
            break
        case .optional:
            configuration.certificateVerification = .optionalVerification
        case .require:
            // Servers have no host name to check a client against; the chain is what counts.
            configuration.certificateVerification = .noHostnameVerification
        }
        if settings.verifiesClientCertificates {
            // Only the configured CA: never the system's roots, which would admit any public certificate.
            configuration.trustRoots = .certificates(clientCAs)
            configuration.sendCANameList = true
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSSetupError("""
                --tls-key \(settings.keyFile) does not belong to the certificate in --tls-cert \(settings.certificateFile), \
                or the pair cannot be served (\(error))
                """)
        }

        var digest = SHA256()
        for bytes in [certificateBytes, keyBytes, caBytes ?? Data()] {
            digest.update(data: Data(String(bytes.count).utf8 + [0]))
            digest.update(data: bytes)
        }
        return TLSCredentials(context: context, notValidAfter: Int64(leaf.notValidAfter),
                              serialNumber: leaf.serialNumber.map { String(format: "%02x", $0) }.joined(),
                              filesDigest: Array(digest.finalize()))
    }

    /// The digest of the files as they are now, to compare with `filesDigest` without parsing
    /// anything; nil when a file cannot be read (the reloader then keeps what it has).
    static func currentDigest(_ settings: ServerTLSSettings) -> [UInt8]? {
        var digest = SHA256()
        for path in [settings.certificateFile, settings.keyFile, settings.clientCAFile] {
            guard let path else {
                digest.update(data: Data("0".utf8 + [0]))
                continue
            }
            guard var bytes = try? readFile(path, setting: "") else { return nil }
            digest.update(data: Data(String(bytes.count).utf8 + [0]))
            digest.update(data: bytes)
            bytes.resetBytes(in: 0..<bytes.count)
        }
        return Array(digest.finalize())
    }

    private static func readFile(_ path: String, setting: String) throws(TLSSetupError) -> Data {
        let url = URL(fileURLWithPath: path)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            throw TLSSetupError("\(setting) \(path): no such file")
        }
        if let size = attributes[.size] as? Int, size > maximumFileBytes {
            throw TLSSetupError("\(setting) \(path): \(size) bytes, larger than any PEM file ares reads (1 MB)")
        }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw TLSSetupError("\(setting) \(path): cannot be read (check its permissions)")
        }
    }
}
