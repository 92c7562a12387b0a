import Logging
import NIOCore
import NIOSSL
import NIOTLS
import Security

/// Sits right after the TLS handler of each connection. When the handshake completes it reads
/// the peer certificate — which BoringSSL has verified against the client CA, or the handshake
/// would have failed — and records its identity for the connection's requests; when the
/// connection closes it forgets it. It also counts handshakes that fail. Bytes pass through.
final class ClientCertificateHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let registry: ClientCertificateRegistry?
    private let roles: [String: Role]
    private let metrics: ServerMetrics
    private let logger: Logger
    private var handshakeCompleted = false

    init(registry: ClientCertificateRegistry?, roles: [String: Role], metrics: ServerMetrics, logger: Logger) {
        self.registry = registry
        self.roles = roles
        self.metrics = metrics
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            handshakeCompleted = true
            if let registry, let certificate = try? context.pipeline.syncOperations.nioSSL_peerCertificate() {
                if let identity = ClientCertificateIdentity.identity(of: certificate) {
                    registry.record(ClientCertificateIdentity(identity: identity, roles: roles), on: context.channel)
                } else {
                    logger.warning("a verified client certificate names no usable identity (URI or DNS name, or common name)")
                }
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !handshakeCompleted {
            // Once per connection: the handshake ends the connection when it fails.
            handshakeCompleted = true
            metrics.recordTLSHandshakeFailure()
            logger.debug("TLS handshake failed", metadata: [
                "remote": .string(context.channel.remoteAddress?.ipAddress ?? "unknown"), "error": .string("\(error)"),
            ])
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        registry?.forget(context.channel)
        context.fireChannelInactive()
    }
}
