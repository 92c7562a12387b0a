import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// A Hummingbird child channel that speaks TLS before the HTTP channel it wraps, with the
/// certificate in use *when the connection is accepted*. Modelled on HummingbirdTLS's
/// `TLSChannel`, which takes one fixed `TLSConfiguration` for the server's lifetime; this one
/// asks the `TLSCredentialReloader` for its current context per connection, so a rotated
/// certificate reaches new connections while open ones finish on the old one.
///
/// The HTTP channel's own handlers (the read deadlines, the decoder limits) are set up after
/// TLS exactly as without it; the read deadline starts when the connection opens, so a client
/// that stalls the handshake is closed by the same head deadline.
struct ReloadingTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let credentials: TLSCredentialReloader
    let clientCertificates: ClientCertificateRegistry?
    let metrics: ServerMetrics

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let context = credentials.current
        let roles = credentials.settings.clientRoleMap
        let (registry, metrics) = (clientCertificates, self.metrics)
        return channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(NIOSSLServerHandler(context: context))
            try pipeline.addHandler(ClientCertificateHandler(registry: registry, roles: roles, metrics: metrics, logger: logger))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension ReloadingTLSChannel: HTTPChannelHandler where Base: HTTPChannelHandler {
    var responder: HTTPChannelHandler.Responder { base.responder }
}
