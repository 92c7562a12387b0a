import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The one way the probes talk to the target: a request with a chosen credential (the
/// target's, none, or an exact `Authorization` value an attack needs), answered as status,
/// headers and a bounded body, or as the transport failure that ended it. A dropped
/// connection is an answer too (the server error a probe reports), so nothing here throws.
struct ProbeHTTP: Sendable {
    let client: HTTPClient
    let target: ValidationTarget
    /// How long one request may take; a probe request that takes longer counts as failed.
    var timeout: TimeAmount = .seconds(30)
    /// The most of a body a probe reads (an attack's answer is never large).
    var maximumBodyBytes = 4 << 20

    /// Which credential a request carries.
    enum Credential: Sendable {
        /// The target's own (the operator's), if it has one.
        case target
        case none
        /// `Authorization: Bearer <secret>` with this secret (a key the probe created or made up).
        case bearer(String)
        /// This exact `Authorization` header value (malformed ones included).
        case authorization(String)
    }

    struct Reply: Sendable {
        var status: Int
        /// Header names in lower case.
        var headers: [String: String]
        var body: Data

        var contentType: String { headers["content-type"]?.lowercased() ?? "" }
        var isEventStream: Bool { contentType.hasPrefix("text/event-stream") }
        /// The body as JSON; for an event stream (MCP answers a call with one), its last event's data.
        var json: Any? {
            guard !body.isEmpty else { return nil }
            if isEventStream {
                var parser = ProbeEventStreamParser()
                let events = parser.feed(body) + parser.finish()
                return events.last.flatMap(ProbeJSON.parse)
            }
            return ProbeJSON.parse(body)
        }
        var object: [String: Any]? { json as? [String: Any] }
        /// The JSON-RPC error code, if the body is a JSON-RPC error response.
        var rpcErrorCode: Int? { ProbeJSON.int(object?["error"], "code") }
        var hasRPCResult: Bool { object?["result"] != nil }

        /// The status and a short, printable excerpt of the body, for a check's detail.
        var summary: String {
            var text = "HTTP \(status)"
            if let code = rpcErrorCode { text += ", JSON-RPC error \(code)" }
            let excerpt = ProbeJSON.excerpt(body, limit: 160)
            if !excerpt.isEmpty { text += ": \(excerpt)" }
            return text
        }
    }

    struct Failure: Error, Sendable, CustomStringConvertible {
        var description: String
    }

    func url(_ path: String) -> String { target.url(path) }

    /// Sends one request and reads its answer (at most `maximumBodyBytes` of the body).
    func send(_ method: HTTPMethod, _ path: String, credential: Credential, headers extra: [(String, String)] = [],
              body: Data? = nil, timeout: TimeAmount? = nil) async -> Result<Reply, Failure> {
        var request = HTTPClientRequest(url: url(path))
        request.method = method
        if let authorization = authorization(credential) { request.headers.add(name: "Authorization", value: authorization) }
        for (name, value) in extra { request.headers.replaceOrAdd(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await client.execute(request, timeout: timeout ?? self.timeout)
            let buffer = try await response.body.collect(upTo: maximumBodyBytes)
            return .success(Reply(status: Int(response.status.code), headers: Self.headers(response.headers), body: Data(buffer.readableBytesView)))
        } catch {
            return .failure(Failure(description: Self.describe(error)))
        }
    }

    /// A JSON-RPC request (A2A-Version 1.0, application/json) to `path`.
    func rpc(_ path: String, method: String, params: Any? = nil, id: Any? = 1, credential: Credential,
             headers extra: [(String, String)] = []) async -> Result<Reply, Failure> {
        var message: [String: Any] = ["jsonrpc": "2.0", "method": method]
        if let id { message["id"] = id }
        if let params { message["params"] = params }
        let body = (try? JSONSerialization.data(withJSONObject: message)) ?? Data()
        return await send(.POST, path, credential: credential, headers: jsonHeaders + extra, body: body)
    }

    /// Raw bytes posted as JSON (the attacks that are not valid JSON-RPC).
    func post(_ path: String, raw body: Data, credential: Credential, headers extra: [(String, String)] = []) async -> Result<Reply, Failure> {
        await send(.POST, path, credential: credential, headers: jsonHeaders + extra, body: body)
    }

    var jsonHeaders: [(String, String)] {
        [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"), ("A2A-Version", "1.0")]
    }

    /// A streaming answer read to its end (or until `deadline`): the status, headers and the
    /// `data:` payload of each server-sent event.
    struct EventStream: Sendable {
        var status: Int
        var headers: [String: String]
        var events: [Data]
        /// False when the deadline came before the server ended the stream.
        var ended: Bool
        /// The body when the answer was not an event stream (an error response).
        var body: Data

        var contentType: String { headers["content-type"]?.lowercased() ?? "" }
        var isEventStream: Bool { contentType.hasPrefix("text/event-stream") }
    }

    func stream(_ path: String, method: String, params: Any, id: Any, credential: Credential,
                within seconds: Int64 = 60) async -> Result<EventStream, Failure> {
        let message: [String: Any] = ["jsonrpc": "2.0", "id": id, "method": method, "params": params]
        var request = HTTPClientRequest(url: url(path))
        request.method = .POST
        if let authorization = authorization(credential) { request.headers.add(name: "Authorization", value: authorization) }
        for (name, value) in jsonHeaders { request.headers.replaceOrAdd(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
        request.body = .bytes(ByteBuffer(bytes: (try? JSONSerialization.data(withJSONObject: message)) ?? Data()))
        var head: (status: Int, headers: [String: String])?
        var events: [Data] = []
        do {
            let response = try await client.execute(request, deadline: .now() + .seconds(seconds))
            let headers = Self.headers(response.headers)
            guard headers["content-type"]?.lowercased().hasPrefix("text/event-stream") == true else {
                let buffer = try await response.body.collect(upTo: maximumBodyBytes)
                return .success(EventStream(status: Int(response.status.code), headers: headers, events: [], ended: true, body: Data(buffer.readableBytesView)))
            }
            head = (Int(response.status.code), headers)
            var parser = ProbeEventStreamParser()
            var received = 0
            for try await chunk in response.body {
                received += chunk.readableBytes
                guard received <= maximumBodyBytes else { throw Failure(description: "the event stream exceeded \(maximumBodyBytes) bytes") }
                events += parser.feed(Data(chunk.readableBytesView))
            }
            events += parser.finish()
            return .success(EventStream(status: Int(response.status.code), headers: headers, events: events, ended: true, body: Data()))
        } catch {
            // A stream that was open and did not end in time is an answer (it may be one that
            // must not have been opened at all); a failure before the head is a failure.
            if let head, Self.isDeadline(error) {
                return .success(EventStream(status: head.status, headers: head.headers, events: events, ended: false, body: Data()))
            }
            return .failure(error as? Failure ?? Failure(description: Self.describe(error)))
        }
    }

    private static func isDeadline(_ error: any Error) -> Bool {
        guard let clientError = error as? HTTPClientError else { return false }
        return clientError == .deadlineExceeded || clientError == .readTimeout
    }

    private func authorization(_ credential: Credential) -> String? {
        switch credential {
        case .target: target.authorizationHeader
        case .none: nil
        case let .bearer(secret): "Bearer \(secret)"
        case let .authorization(value): value
        }
    }

    private static func headers(_ fields: HTTPHeaders) -> [String: String] {
        var headers: [String: String] = [:]
        for (name, value) in fields { headers[name.lowercased()] = value }
        return headers
    }

    /// A transport error in words: a closed connection reads as such, whatever the library calls it.
    static func describe(_ error: any Error) -> String {
        if let clientError = error as? HTTPClientError {
            switch clientError {
            case .remoteConnectionClosed: return "the server closed the connection without an answer"
            case .readTimeout, .deadlineExceeded: return "no answer in time"
            case .connectTimeout: return "could not connect in time"
            default: return "HTTP client error: \(clientError)"
            }
        }
        if error is NIOTooManyBytesError { return "the answer was larger than the probe reads" }
        return "\(error)"
    }
}
