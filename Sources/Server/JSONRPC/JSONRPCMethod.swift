import Foundation
import Security

/// What a method answers: one result, or (streaming methods) a sequence of results, each
/// sent as its own JSON-RPC response in a server-sent event.
public enum JSONRPCReply: Sendable {
    /// The encoded `result` value.
    case result(Data)
    case stream(AsyncThrowingStream<Data, any Error>)
}

/// A method of a JSON-RPC endpoint and the permission a caller needs for it.
public struct JSONRPCMethod: Sendable {
    public var name: String
    public var permission: Permission
    public var handler: @Sendable (JSONRPCRequest) async throws -> JSONRPCReply

    public init(_ name: String, permission: Permission, handler: @escaping @Sendable (JSONRPCRequest) async throws -> JSONRPCReply) {
        self.name = name
        self.permission = permission
        self.handler = handler
    }
}

/// Who the HTTP layer found behind a request.
public enum RequestAuthentication: Sendable, Equatable {
    case principal(Principal)
    case missing
    case rejected(String)
    /// The credential cannot be checked yet (keys still loading): retry, HTTP 503.
    case unavailable(String)
}
