import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose client is too slow to send a request: the request head must
/// arrive within `headTimeout` of the connection opening (or of the previous response ending,
/// on a kept-alive connection), and the body within `bodyTimeout` of the head. A client that
/// drips a byte a second holds a connection and its buffers; without deadlines a few hundred
/// of them exhaust the server. Waiting for the server's own answer (a long research task, an
/// event stream) is never limited here.
///
/// Sits after the HTTP codec, so it sees whole heads; a head that never completes is caught by
/// the head deadline. Per request it only notes a time: one repeating check per connection
/// (every `checkInterval`) compares, so deadlines cost no timer per request.
final class RequestReadDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let headTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private let checkInterval: TimeAmount
    /// When the client must have sent what it owes; nil while the server owes the answer.
    private var deadline: NIODeadline?
    private var check: RepeatedTask?
    /// Requests whose head has arrived and whose response has not ended.
    private var unanswered = 0
    private var readingBody = false

    init(headTimeout: TimeAmount, bodyTimeout: TimeAmount) {
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
        // Deadlines are enforced to within a quarter of the shorter one (at most a second).
        checkInterval = min(.seconds(1), TimeAmount.nanoseconds(min(headTimeout.nanoseconds, bodyTimeout.nanoseconds) / 4))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            unanswered += 1
            readingBody = true
            deadline = .now() + bodyTimeout
        case .body:
            break
        case .end:
            readingBody = false
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            // Idle again: the next request's head must come in time.
            if unanswered == 0, !readingBody { deadline = .now() + headTimeout }
        }
        context.write(data, promise: promise)
    }

    private func start(context: ChannelHandlerContext) {
        guard check == nil else { return }
        deadline = .now() + headTimeout
        let channel = context.channel
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleRepeatedTask(initialDelay: checkInterval, delay: checkInterval) { _ in
            if let deadline = loopBound.value.deadline, deadline < .now() { channel.close(promise: nil) }
        }
    }

    private func stop() {
        check?.cancel()
        check = nil
    }
}
