import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A small HTTP/1.1 server on 127.0.0.1 (a port the system picks) that answers each request
/// with `handler`: what the fault-injecting proxy and the synthetic model endpoint are built on.
/// Bodies are read whole (they are model requests of a few kB), up to `maximumBodyBytes`.
public final class LoopbackHTTPServer: Sendable {
    public struct Reply: Sendable {
        public var status: HTTPResponseStatus
        public var headers: HTTPHeaders
        public var body: Data

        public init(status: HTTPResponseStatus, headers: HTTPHeaders = ["Content-Type": "application/json"], body: Data) {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    public typealias Handler = @Sendable (HTTPRequestHead, Data) async -> Reply

    private let server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    private let connections = Mutex<[any Channel]>([])
    private let handler: Handler
    private let maximumBodyBytes: Int

    public var port: Int { server.channel.localAddress?.port ?? 0 }
    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)") ?? URL(fileURLWithPath: "/") }

    public init(maximumBodyBytes: Int = 8 << 20, handler: @escaping Handler) async throws {
        self.handler = handler
        self.maximumBodyBytes = maximumBodyBytes
        server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Accepts connections until `stop()`.
    public func serve() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    connections.withLock { $0.append(connection.channel) }
                    group.addTask { try? await self.handle(connection) }
                }
            }
        }
    }

    /// Closes the listening socket and every open connection, so that `serve()` returns.
    public func stop() async {
        try? await server.channel.close()
        for channel in connections.withLock({ $0 }) { try? await channel.close() }
    }

    /// Runs `body` with the server accepting connections, then stops it.
    public func whileServing<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.serve() }
            do {
                let result = try await body()
                await stop()
                try await group.waitForAll()
                return result
            } catch {
                await stop()
                group.cancelAll()
                throw error
            }
        }
    }

    private func handle(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case let .head(requestHead):
                    head = requestHead
                    body.clear()
                case var .body(chunk):
                    // A body over the limit ends the connection: nothing here needs one that large.
                    guard body.readableBytes + chunk.readableBytes <= maximumBodyBytes else { return }
                    body.writeBuffer(&chunk)
                case .end:
                    guard let requestHead = head else { continue }
                    let reply = await handler(requestHead, Data(body.readableBytesView))
                    var headers = reply.headers
                    headers.replaceOrAdd(name: "Content-Length", value: String(reply.body.count))
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: reply.status, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: reply.body))))
                    try await outbound.write(.end(nil))
                    head = nil
                }
            }
        }
    }
}
