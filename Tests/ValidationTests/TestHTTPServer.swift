import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A small HTTP/1.1 server on a loopback port for the generator and gate tests. `respond`
/// decides each answer: status, body and *when* it is sent (a delay from arrival), so a test
/// can build a server with a known latency, a stall, a single-file queue or errors.
final class TestHTTPServer: Sendable {
    struct Answer: Sendable {
        var status: HTTPResponseStatus = .ok
        var body: String = "{}"
        var contentType = "application/json"
        /// How long after the request arrived the answer is written.
        var delay: Duration = .zero
    }

    struct Request: Sendable {
        var method: HTTPMethod
        var uri: String
        var body: String
        var arrival: ContinuousClock.Instant
    }

    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }
    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    init(respond: @escaping @Sendable (Request) -> Answer) async throws {
        let counter = Counter()
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(respond: respond, counter: counter))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.counter = counter
    }

    private let counter: Counter
    var received: Int { counter.value.load(ordering: .relaxed) }

    func stop() async { try? await channel.close() }

    final class Counter: Sendable { let value = Atomic<Int>(0) }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked: NIO calls a handler only on its channel's event loop.
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let respond: @Sendable (Request) -> Answer
        let counter: Counter
        var head: HTTPRequestHead?
        var body = ""

        init(respond: @escaping @Sendable (Request) -> Answer, counter: Counter) {
            self.respond = respond
            self.counter = counter
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case let .head(head):
                self.head = head
                body = ""
            case var .body(buffer):
                body += buffer.readString(length: buffer.readableBytes) ?? ""
            case .end:
                guard let head else { return }
                counter.value.wrappingAdd(1, ordering: .relaxed)
                let answer = respond(Request(method: head.method, uri: head.uri, body: body, arrival: .now))
                let keepAlive = head.isKeepAlive
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                let write: @Sendable () -> Void = {
                    let context = loopBound.value
                    var headers = HTTPHeaders([("Content-Type", answer.contentType), ("Content-Length", "\(answer.body.utf8.count)")])
                    if !keepAlive { headers.add(name: "Connection", value: "close") }
                    context.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: answer.status, headers: headers))), promise: nil)
                    context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: answer.body)))), promise: nil)
                    context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
                    if !keepAlive { context.close(promise: nil) }
                }
                let nanoseconds = answer.delay.components.seconds * 1_000_000_000 + answer.delay.components.attoseconds / 1_000_000_000
                if nanoseconds <= 0 {
                    write()
                } else {
                    context.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) { write() }
                }
            }
        }
    }
}
