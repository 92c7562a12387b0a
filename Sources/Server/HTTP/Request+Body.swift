import Foundation
import Hummingbird

extension Request {
    /// The whole body, at most `limit` bytes; a larger one is an Invalid Request (HTTP 413).
    mutating func collectBody(limit: Int) async throws(JSONRPCError) -> Data {
        do {
            return Data(buffer: try await collectBody(upTo: limit))
        } catch {
            throw JSONRPCError.invalidRequest("the body is larger than \(limit) bytes", httpStatus: 413)
        }
    }
}
