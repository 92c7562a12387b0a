import Foundation
import Security

/// One parsed JSON-RPC request: its id and method, the raw body (each method decodes its own
/// params from it), and who sent it.
public struct JSONRPCRequest: Sendable {
    public var id: JSONValue
    public var method: String
    public var body: Data
    public var principal: Principal
    /// The A2A protocol version the client asked for (`A2A-Version` header), if any.
    public var protocolVersion: String?

    /// Decodes `params` as `P`; a missing or malformed field becomes -32602 naming the field.
    public func params<P: Decodable>(_ type: P.Type) throws -> P {
        do {
            return try Self.decoder.decode(ParamsEnvelope<P>.self, from: body).params
        } catch {
            throw JSONRPCError.invalidParams(DecodingErrorDescription.describe(error, root: ""))
        }
    }

    /// Params that may be absent (methods with only optional parameters).
    public func optionalParams<P: Decodable>(_ type: P.Type) throws -> P? {
        do {
            return try Self.decoder.decode(OptionalParamsEnvelope<P>.self, from: body).params
        } catch {
            throw JSONRPCError.invalidParams(DecodingErrorDescription.describe(error, root: ""))
        }
    }

    /// Protocol-buffer JSON (which A2A 1.0 is) accepts a field by its JSON name (`taskId`) or
    /// its original name (`task_id`); camelCase names pass through the conversion unchanged.
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()

    private struct ParamsEnvelope<P: Decodable>: Decodable { var params: P }
    private struct OptionalParamsEnvelope<P: Decodable>: Decodable { var params: P? }
}

/// The outer shape of a JSON-RPC request, checked before anything else.
struct JSONRPCEnvelope: Decodable {
    var jsonrpc: JSONValue?
    var id: JSONValue?
    var hasID: Bool
    var method: JSONValue?

    enum CodingKeys: String, CodingKey { case jsonrpc, id, method }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        jsonrpc = try container.decodeIfPresent(JSONValue.self, forKey: .jsonrpc)
        hasID = container.contains(.id)
        id = try container.decodeIfPresent(JSONValue.self, forKey: .id)
        method = try container.decodeIfPresent(JSONValue.self, forKey: .method)
    }
}
