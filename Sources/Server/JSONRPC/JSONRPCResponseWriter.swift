import Foundation

/// Writes JSON-RPC response envelopes around an already encoded result, so that a cached
/// result (a finished task) is spliced in without being encoded again.
public enum JSONRPCResponseWriter {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    public static func result(id: JSONValue, result: Data) -> Data {
        var body = Data(#"{"jsonrpc":"2.0","id":"#.utf8)
        body.append(encodedID(id))
        body.append(contentsOf: #","result":"#.utf8)
        body.append(result)
        body.append(UInt8(ascii: "}"))
        return body
    }

    public static func error(id: JSONValue, error: JSONRPCError) -> Data {
        var body = Data(#"{"jsonrpc":"2.0","id":"#.utf8)
        body.append(encodedID(id))
        body.append(contentsOf: #","error":"#.utf8)
        body.append((try? encoder.encode(error)) ?? Data(#"{"code":-32603,"message":"Internal error"}"#.utf8))
        body.append(UInt8(ascii: "}"))
        return body
    }

    /// Encodes any result value the way every response does.
    public static func encode(_ value: some Encodable) throws -> Data {
        try encoder.encode(value)
    }

    private static func encodedID(_ id: JSONValue) -> Data {
        switch id {
        case let .integer(value): Data(String(value).utf8)
        default: (try? encoder.encode(id)) ?? Data("null".utf8)
        }
    }
}
