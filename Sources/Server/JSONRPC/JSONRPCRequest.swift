import Foundation
import Security

/// One JSON-RPC call as a method sees it: its id and method, its params as the client sent
/// them (each method decodes its own type), and who sent it. The REST binding makes one from a
/// path, a query and a body, without a JSON-RPC envelope.
public struct JSONRPCRequest: Sendable {
    public var id: JSONValue
    public var method: String
    /// The `params` JSON, or nil when the call has none.
    public var params: Data?
    public var principal: Principal
    /// The A2A protocol version the client asked for (`A2A-Version` header), if any.
    public var protocolVersion: String?

    public init(id: JSONValue, method: String, params: Data?, principal: Principal, protocolVersion: String?) {
        self.id = id
        self.method = method
        self.params = params
        self.principal = principal
        self.protocolVersion = protocolVersion
    }

    /// Decodes `params` as `P`; a missing or malformed field becomes -32602 naming the field.
    public func params<P: Decodable>(_ type: P.Type) throws -> P {
        guard let params, !Self.isNull(params) else { throw JSONRPCError.invalidParams("params: required field is missing") }
        do {
            return try Self.decoder.decode(P.self, from: params)
        } catch {
            throw JSONRPCError.invalidParams(DecodingErrorDescription.describe(error, root: "params"))
        }
    }

    /// Params that may be absent (methods with only optional parameters).
    public func optionalParams<P: Decodable>(_ type: P.Type) throws -> P? {
        guard let params, !Self.isNull(params) else { return nil }
        return try self.params(type)
    }

    private static func isNull(_ params: Data) -> Bool {
        params.count == 4 && params.elementsEqual("null".utf8)
    }

    /// Protocol-buffer JSON (which A2A 1.0 is) accepts a field by its JSON name (`taskId`) or
    /// its original name (`task_id`); camelCase names pass through the conversion unchanged.
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()
}
