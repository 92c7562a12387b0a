import NIOSSL
import Security

/// Who a verified client certificate names, and the principal it stands for.
///
/// The identity is the first URI subject alternative name (a SPIFFE id such as
/// `spiffe://orchestrator/gateway`), else the first DNS name, else the subject's common name:
/// the most specific name a service certificate carries first. The principal's id is
/// `mtls:` + identity, which no API key id (`key_…`) or token subject (issuer + subject) can be.
/// A certificate whose identity is not in the role map is no principal: the request then needs
/// other credentials.
public struct ClientCertificateIdentity: Sendable, Equatable {
    public var identity: String
    /// Nil: the certificate is valid but grants nothing by itself.
    public var principal: Principal?

    /// Names longer than this are refused (no real identity is), as are control characters:
    /// an identity goes into logs and task ownership.
    static let maximumLength = 1024

    public init(identity: String, roles: [String: Role]) {
        self.identity = identity
        principal = roles[identity].map { Principal(id: "mtls:" + identity, name: identity, role: $0) }
    }

    /// The identity of `certificate`, or nil when it names nothing usable.
    public static func identity(of certificate: NIOSSLCertificate) -> String? {
        var dnsName: String?
        for name in certificate._subjectAlternativeNames() {
            guard name.nameType == .uri || name.nameType == .dnsName else { continue }
            // IA5String: ASCII; anything else is refused rather than guessed at.
            guard let text = printable(name.contents.withUnsafeBufferPointer { Array($0) }, allowSpaces: false) else { continue }
            if name.nameType == .uri { return text }
            if dnsName == nil { dnsName = text }
        }
        if let dnsName { return dnsName }
        // The most significant (last) common name, as BoringSSL's own host checks read it.
        guard let commonName = certificate.subjectName.last(where: { $0.type == .commonName })?.value else { return nil }
        return printable(Array(commonName.utf8), allowSpaces: true)
    }

    /// The bytes as a string if they are non-empty, not too long, valid UTF-8 and free of
    /// control characters (and of spaces, for SANs).
    private static func printable(_ bytes: [UInt8], allowSpaces: Bool) -> String? {
        guard !bytes.isEmpty, bytes.count <= maximumLength else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format { return nil }
            if !allowSpaces, scalar.properties.isWhitespace { return nil }
        }
        return text
    }
}
