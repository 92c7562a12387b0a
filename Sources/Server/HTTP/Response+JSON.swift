import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension Response {
    /// A JSON body; a 401 also names the authentication scheme, a busy answer when to retry.
    static func json(_ body: Data, status: HTTPResponse.Status = .ok, retryAfterSeconds: Int? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == .unauthorized { headers[.wwwAuthenticate] = #"Bearer realm="ares""# }
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// A stream of server-sent events, written by `write` (frames from `ServerSentEvent`).
    static func eventStream(_ write: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: ResponseBody { writer in
            try await write(&writer)
            try await writer.finish(nil)
        })
    }
}

/// The framing of one server-sent event.
enum ServerSentEvent {
    /// `event: NAME` (if any) and one `data:` line; the payload is single-line JSON.
    static func frame(_ data: Data, event: String? = nil) -> ByteBuffer {
        var frame = ByteBuffer(string: event.map { "event: \($0)\ndata: " } ?? "data: ")
        frame.writeBytes(data)
        frame.writeString("\n\n")
        return frame
    }

    /// A comment line: keeps an idle connection from being closed by clients and proxies.
    static let keepAlive = ByteBuffer(string: ": keep-alive\n\n")
}
