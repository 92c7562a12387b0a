import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// The HTTP client through which ares calls model endpoints (embeddings here, chat
/// completions in Agents): one pooled AsyncHTTPClient whose connections are reused across
/// requests, with bounds a hostile or broken endpoint cannot push past:
///
/// - connecting may take `connectTimeout`, and an answer may pause for at most `readTimeout`
///   between bytes (the caller bounds the whole exchange with its own request timeout);
/// - a connection that cannot be made fails at once instead of being retried by the pool:
///   the callers' retry policies decide about retries, with backoff and jitter;
/// - at most `maximumResponseBytes` of a successful answer are read (a `Content-Length`
///   above it is refused before reading), and at most `maximumErrorBodyBytes` of any other;
/// - a redirect is followed only when it keeps the method and body (307, 308) and stays on
///   the same scheme, host and port, at most `maximumRedirects` times; any other redirect is
///   answered as an HTTP error, so an API key is never sent to a host it was not meant for;
/// - compressed answers are not requested, so none is inflated.
public final class ModelEndpointHTTPClient: Sendable {
    public struct Limits: Sendable {
        public var connectTimeout: Duration
        public var readTimeout: Duration
        public var maximumResponseBytes: Int
        public var maximumErrorBodyBytes: Int
        public var maximumRedirects: Int

        public init(connectTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(120),
                    maximumResponseBytes: Int = 16 << 20, maximumErrorBodyBytes: Int = 4096, maximumRedirects: Int = 3) {
            self.connectTimeout = connectTimeout
            self.readTimeout = readTimeout
            self.maximumResponseBytes = maximumResponseBytes
            self.maximumErrorBodyBytes = maximumErrorBodyBytes
            self.maximumRedirects = maximumRedirects
        }
    }

    /// An answer: its status and body (all of it for a 2xx, the beginning of it otherwise).
    public struct Response: Sendable {
        public var status: Int
        public var body: Data
    }

    /// Why an exchange failed before a usable answer arrived.
    public enum Failure: Error, CustomStringConvertible, Sendable {
        /// The endpoint could not be reached, or the connection broke or stalled.
        case transport(String)
        /// The answer is larger than `maximumResponseBytes`; reading stopped there.
        case responseTooLarge(limit: Int)

        public var description: String {
            switch self {
            case let .transport(detail): detail
            case let .responseTooLarge(limit): "the answer is larger than \(limit) bytes, the most ares reads"
            }
        }
    }

    /// The client model endpoints use unless they are given another: created on first use and
    /// kept for the life of the process (its connections close when they idle).
    public static let shared = ModelEndpointHTTPClient()

    public let limits: Limits
    private let client: HTTPClient

    /// A client of its own; whoever creates one calls `shutdown()` when done with it.
    public convenience init(limits: Limits = Limits()) {
        self.init(limits: limits, tlsConfiguration: nil)
    }

    /// A client whose TLS also trusts `tls`'s CAs and presents its client certificate
    /// (certificates are verified either way).
    public convenience init(limits: Limits = Limits(), tls: OutboundTLSFiles) throws {
        self.init(limits: limits, tlsConfiguration: tls.isEmpty ? nil : try tls.clientConfiguration(presentingCertificate: true))
    }

    private init(limits: Limits, tlsConfiguration: TLSConfiguration?) {
        self.limits = limits
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: Self.timeAmount(limits.connectTimeout), read: Self.timeAmount(limits.readTimeout)))
        configuration.decompression = .disabled
        configuration.connectionPool.retryConnectionEstablishment = false
        // Client spans are not made here: a model call made by a task step has no span to
        // belong to, and would start a trace of its own.
        configuration.tracing.tracer = nil
        if let tlsConfiguration { configuration.tlsConfiguration = tlsConfiguration }
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// POSTs `body` as JSON to `url` with `headers` and returns the answer. The answer's head
    /// must arrive within `timeout`; its body is bounded by `readTimeout` and the caller's own
    /// deadline.
    public func postJSON(_ body: Data, to url: URL, headers: [(String, String)] = [], timeout: Duration) async throws -> Response {
        var target = url
        for _ in 0...max(0, limits.maximumRedirects) {
            var request = HTTPClientRequest(url: target.absoluteString)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Accept", value: "application/json")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(bytes: body))
            let response: HTTPClientResponse
            do {
                response = try await client.execute(request, timeout: Self.timeAmount(timeout))
            } catch {
                throw Failure.transport(Self.describe(error))
            }
            let status = Int(response.status.code)
            if status == 307 || status == 308, let next = Self.sameOriginRedirect(response.headers.first(name: "Location"), from: target) {
                _ = try? await read(response, upTo: limits.maximumErrorBodyBytes, failingBeyond: false)
                target = next
                continue
            }
            if (200..<300).contains(status) {
                return Response(status: status, body: try await read(response, upTo: limits.maximumResponseBytes, failingBeyond: true))
            }
            var text = try await read(response, upTo: limits.maximumErrorBodyBytes, failingBeyond: false)
            if (300..<400).contains(status) {
                let location = response.headers.first(name: "Location") ?? "nowhere"
                text = Data("a redirect to \(location.prefix(200)), not followed (only 307 and 308 to the same host are)".utf8)
            }
            return Response(status: status, body: text)
        }
        throw Failure.transport("more than \(limits.maximumRedirects) redirects")
    }

    /// Reads the body up to `limit` bytes: beyond it, fails (`failingBeyond`) or keeps what it
    /// has; either way it stops reading, and the connection is closed rather than drained.
    private func read(_ response: HTTPClientResponse, upTo limit: Int, failingBeyond: Bool) async throws -> Data {
        if failingBeyond, let declared = response.headers.first(name: "Content-Length").flatMap(Int.init), declared > limit {
            throw Failure.responseTooLarge(limit: limit)
        }
        var data = Data()
        do {
            for try await chunk in response.body {
                let room = limit - data.count
                if chunk.readableBytes > room {
                    if failingBeyond { throw Failure.responseTooLarge(limit: limit) }
                    data.append(contentsOf: chunk.readableBytesView.prefix(room))
                    break
                }
                data.append(contentsOf: chunk.readableBytesView)
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure.transport("the answer broke off: \(Self.describe(error))")
        }
        return data
    }

    /// The redirect target when it keeps the scheme, host and port of `origin`; nil otherwise.
    static func sameOriginRedirect(_ location: String?, from origin: URL) -> URL? {
        guard let location, let next = URL(string: location, relativeTo: origin)?.absoluteURL else { return nil }
        func port(_ url: URL) -> Int? { url.port ?? (url.scheme?.lowercased() == "https" ? 443 : url.scheme?.lowercased() == "http" ? 80 : nil) }
        guard next.scheme?.lowercased() == origin.scheme?.lowercased(), next.host?.lowercased() == origin.host?.lowercased(),
              port(next) == port(origin), next.user == nil, next.password == nil else { return nil }
        return next
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "connecting timed out"
            case .readTimeout: return "the endpoint stopped sending (read timeout)"
            case .remoteConnectionClosed: return "the endpoint closed the connection"
            case .deadlineExceeded: return "the request timed out"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }

    private static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
