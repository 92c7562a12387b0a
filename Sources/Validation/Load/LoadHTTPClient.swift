import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The HTTP side of the load generator: one AsyncHTTPClient with a connection pool sized to the
/// generator's concurrency, a timeout per request, and failures turned into outcome classes.
public struct LoadHTTPClient: Sendable {
    /// What came back: a status and body, or the class of failure that prevented one.
    public struct Answer: Sendable {
        public var status: Int
        public var contentType: String
        public var body: ByteBuffer
        public var failure: RequestOutcome?

        static func failed(_ outcome: RequestOutcome) -> Answer {
            Answer(status: 0, contentType: "", body: ByteBuffer(), failure: outcome)
        }
    }

    public let client: HTTPClient
    public var timeout: TimeAmount
    /// The largest body read (a ListTasks page or a finished task with its report is tens of kB).
    public var maximumBodyBytes: Int

    public init(client: HTTPClient, timeout: TimeAmount = .seconds(30), maximumBodyBytes: Int = 16 << 20) {
        self.client = client
        self.timeout = timeout
        self.maximumBodyBytes = maximumBodyBytes
    }

    /// A client whose pool keeps up to `connections` HTTP/1.1 connections to the target, so that
    /// the generator's slots (one request each) never wait for a connection the pool refuses to open.
    public static func makeClient(connections: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connections))
        // A refused connection is a measurement (connectionError), not something to retry until
        // the connect timeout: the target is either reachable at the rate or it is not.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.httpVersion = .http1Only
        configuration.timeout = .init(connect: .seconds(10))
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    public func get(_ url: String, headers: HTTPHeaders = [:]) async -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers = headers
        return await perform(request)
    }

    public func post(_ url: String, body: ByteBuffer, headers: HTTPHeaders) async -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        request.body = .bytes(body)
        return await perform(request)
    }

    public func perform(_ request: HTTPClientRequest) async -> Answer {
        do {
            let response = try await client.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: maximumBodyBytes)
            return Answer(status: Int(response.status.code), contentType: response.headers.first(name: "content-type") ?? "", body: body, failure: nil)
        } catch {
            return .failed(Self.classify(error))
        }
    }

    /// Timeouts of any kind are `timeout`; everything else that kept an answer from arriving
    /// (refused, reset, closed early, a body over the limit) is `connectionError`.
    static func classify(_ error: any Error) -> RequestOutcome {
        if let error = error as? HTTPClientError,
           [.deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .getConnectionFromPoolTimeout].contains(error) {
            return .timeout
        }
        return .connectionError
    }
}
