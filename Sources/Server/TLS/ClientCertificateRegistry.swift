import NIOCore
import Synchronization

/// The verified client certificate of each open mutual-TLS connection, for the requests that
/// come on it. Hummingbird hands a request its channel, not the TLS session; reading the peer
/// certificate from the pipeline would mean a hop onto the connection's event loop per request,
/// so the identity is noted once, when the handshake completes (`ClientCertificateHandler`), and
/// looked up here by the connection's object identity (one lock, one dictionary read).
///
/// An entry lives from the handshake to the connection closing. The identifier cannot be reused
/// by another connection while a request still looks it up: the request holds its channel.
public final class ClientCertificateRegistry: Sendable {
    private let connections = Mutex<[ObjectIdentifier: ClientCertificateIdentity]>([:])

    public init() {}

    public func certificate(on connection: ObjectIdentifier) -> ClientCertificateIdentity? {
        connections.withLock { $0[connection] }
    }

    func record(_ identity: ClientCertificateIdentity, on channel: any Channel) {
        let key = ObjectIdentifier(channel)
        connections.withLock { $0[key] = identity }
    }

    func forget(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        _ = connections.withLock { $0.removeValue(forKey: key) }
    }

    /// Open connections with a verified client certificate.
    public var count: Int { connections.withLock { $0.count } }
}
