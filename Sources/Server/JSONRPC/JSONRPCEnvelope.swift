import Foundation

/// The outer shape of a JSON-RPC 2.0 request, checked before anything else and shared by the
/// A2A and MCP endpoints: one strict JSON object (no batch), `"jsonrpc": "2.0"`, a string
/// method, an id that is a string, a number or null (absent: a notification). The params are
/// kept as the bytes the client sent; each method decodes its own type from them.
public struct JSONRPCEnvelope: Sendable {
    public var id: JSONValue
    public var isNotification: Bool
    public var method: String
    /// The `params` value as sent, or nil when there is none.
    public var params: Data?

    /// Why a request was refused, with its id when it could be read (the error is sent with it).
    public struct Failure: Error, Sendable {
        public var error: JSONRPCError
        public var id: JSONValue
    }

    private struct Head: Decodable {
        var jsonrpc: JSONValue?
        var id: JSONValue?
        var hasID: Bool
        var method: JSONValue?
        var params: JSONValue?
        let readsParams: Bool

        enum CodingKeys: String, CodingKey { case jsonrpc, id, method, params }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            jsonrpc = try container.decodeIfPresent(JSONValue.self, forKey: .jsonrpc)
            hasID = container.contains(.id)
            id = try container.decodeIfPresent(JSONValue.self, forKey: .id)
            method = try container.decodeIfPresent(JSONValue.self, forKey: .method)
            readsParams = decoder.userInfo[Self.readsParamsKey] as? Bool ?? false
            params = readsParams ? try container.decodeIfPresent(JSONValue.self, forKey: .params) : nil
        }

        static let readsParamsKey = CodingUserInfoKey(rawValue: "ares.readsParams")!
    }

    private static let decoder = JSONDecoder()
    private static let decoderReadingParams: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.userInfo[Head.readsParamsKey] = true
        return decoder
    }()

    public static func parse(_ body: Data, maximumDepth: Int) throws(Failure) -> JSONRPCEnvelope {
        let validated: StrictJSONValidator.Validated
        do {
            validated = try StrictJSONValidator.validate(body, maximumDepth: maximumDepth, capturing: "params")
        } catch {
            switch error {
            case .syntax: throw Failure(error: .parseError(error.message), id: .null)
            case .tooDeep: throw Failure(error: .invalidRequest(error.message), id: .null)
            }
        }
        switch validated.topLevel {
        case .object: break
        case .array: throw Failure(error: .invalidRequest("batch requests (a JSON array) are not supported: send one request object per call"), id: .null)
        default: throw Failure(error: .invalidRequest("the request must be a JSON object"), id: .null)
        }
        // A member name written with escapes could spell "params" unseen by the byte scan:
        // then the params are read by the decoder instead (rare, and slower).
        let readsParams = validated.hasEscapedTopLevelName
        let head: Head
        do {
            head = try (readsParams ? decoderReadingParams : decoder).decode(Head.self, from: body)
        } catch {
            throw Failure(error: .invalidRequest(DecodingErrorDescription.describe(error, root: "")), id: .null)
        }
        var id: JSONValue = .null
        if let given = head.id {
            switch given {
            case .string, .integer, .number, .null: id = given
            default: throw Failure(error: .invalidRequest("id must be a string, a number or null"), id: .null)
            }
        }
        guard head.jsonrpc == .string("2.0") else { throw Failure(error: .invalidRequest("jsonrpc must be exactly \"2.0\""), id: id) }
        guard case let .string(method)? = head.method else {
            throw Failure(error: .invalidRequest(head.method == nil ? "method is missing" : "method must be a string"), id: id)
        }
        var params: Data?
        if readsParams {
            params = try head.params.map { value throws(Failure) in
                do { return try JSONRPCResponseWriter.encode(value) } catch { throw Failure(error: .invalidRequest("params cannot be read"), id: id) }
            }
        } else if let range = validated.capturedRange {
            params = body.subdata(in: (body.startIndex + range.lowerBound)..<(body.startIndex + range.upperBound))
        }
        return JSONRPCEnvelope(id: id, isNotification: !head.hasID, method: method, params: params)
    }
}
