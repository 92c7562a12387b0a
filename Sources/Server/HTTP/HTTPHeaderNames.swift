import HTTPTypes

/// Header names ares reads or writes beyond the standard ones. The literals are valid
/// field names, so the initializers cannot fail.
extension HTTPField.Name {
    static let apiKey = HTTPField.Name("X-API-Key")!
    static let requestID = HTTPField.Name("X-Request-Id")!
    static let a2aVersion = HTTPField.Name("A2A-Version")!
}
