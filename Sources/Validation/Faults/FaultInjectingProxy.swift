import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The proxy `ares validate --manage` puts in front of the model endpoint: it forwards every
/// request to `upstream` unchanged, except that the fault in force is applied first: added
/// latency (the review's "+100 ms network latency"), or an outage (every request answered 503
/// after the latency, as a load balancer in front of a dead model server does). It counts what
/// it forwarded and what it failed, so the report can show the fault reached ares.
public final class FaultInjectingProxy: Sendable {
    public enum Fault: Sendable, Equatable, CustomStringConvertible {
        case none
        case latency(milliseconds: Int)
        case outage

        public var description: String {
            switch self {
            case .none: "no fault"
            case let .latency(milliseconds): "+\(milliseconds) ms latency"
            case .outage: "outage (503 for every request)"
            }
        }
    }

    /// Requests seen, forwarded and failed on purpose since the proxy started.
    public struct Counts: Sendable, Equatable {
        public var requests = 0
        public var forwarded = 0
        public var failedByFault = 0
        public var upstreamErrors = 0
    }

    private let upstream: String
    private let client: HTTPClient
    private let state = Mutex<(fault: Fault, counts: Counts)>((.none, Counts()))

    public init(upstream: URL, client: HTTPClient) {
        var base = upstream.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        self.upstream = base
        self.client = client
    }

    public var fault: Fault {
        get { state.withLock { $0.fault } }
        set { state.withLock { $0.fault = newValue } }
    }

    public var counts: Counts { state.withLock { $0.counts } }

    /// The server's handler (serve it with `LoopbackHTTPServer`).
    public var handler: LoopbackHTTPServer.Handler {
        { [self] head, body in await self.forward(head, body: body) }
    }

    private func forward(_ head: HTTPRequestHead, body: Data) async -> LoopbackHTTPServer.Reply {
        let fault = state.withLock { state in
            state.counts.requests += 1
            return state.fault
        }
        switch fault {
        case .none:
            break
        case let .latency(milliseconds):
            try? await Task.sleep(for: .milliseconds(max(0, milliseconds)))
        case .outage:
            state.withLock { $0.counts.failedByFault += 1 }
            return .init(status: .serviceUnavailable, body: Data(#"{"error":{"message":"ares validate: model endpoint outage injected"}}"#.utf8))
        }
        var headers = head.headers
        for name in ["Host", "Content-Length", "Connection", "Transfer-Encoding"] { headers.remove(name: name) }
        var request = HTTPClientRequest(url: upstream + head.uri)
        request.method = head.method
        request.headers = headers
        if !body.isEmpty || head.method == .POST { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await client.execute(request, timeout: .seconds(120))
            var responseHeaders = response.headers
            for name in ["Content-Length", "Connection", "Transfer-Encoding"] { responseHeaders.remove(name: name) }
            let answer = Data(try await response.body.collect(upTo: 64 << 20).readableBytesView)
            state.withLock { $0.counts.forwarded += 1 }
            return .init(status: response.status, headers: responseHeaders, body: answer)
        } catch {
            state.withLock { $0.counts.upstreamErrors += 1 }
            return .init(status: .badGateway, body: Data(#"{"error":{"message":"ares validate proxy: the upstream did not answer"}}"#.utf8))
        }
    }
}
