import Foundation

/// Reading the files of a model folder, with errors that name the file and say what is wrong.
enum ModelFiles {
    /// Small JSON and text files of a model (configs, the tokenizer) are far below this; a
    /// larger one is not what its name says, so it is refused before it is read.
    static let maximumConfigurationBytes = 64 << 20

    static func exists(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// The bytes of a small file of the model (not the weights).
    static func contents(of url: URL, what: String) throws(LocalModelError) -> Data {
        guard exists(url) else {
            throw LocalModelError(file: url.path, "missing \(what)")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maximumConfigurationBytes else {
            throw LocalModelError(file: url.path, "\(what) is \(size) bytes, larger than the \(maximumConfigurationBytes) a configuration may be")
        }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw LocalModelError(file: url.path, "cannot read \(what) (\(describe(error)))")
        }
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from url: URL, what: String) throws(LocalModelError) -> Value {
        let data = try contents(of: url, what: what)
        do {
            return try JSONDecoder().decode(Value.self, from: data)
        } catch {
            throw LocalModelError(file: url.path, "\(what) is not what was expected: \(describe(error))")
        }
    }

    /// A short, one-line account of an error (decoding errors name the key at fault).
    static func describe(_ error: any Error) -> String {
        switch error {
        case let DecodingError.keyNotFound(key, context):
            return "missing key \(path(context.codingPath + [key]))"
        case let DecodingError.typeMismatch(type, context):
            return "\(path(context.codingPath)) is not \(type)"
        case let DecodingError.valueNotFound(type, context):
            return "\(path(context.codingPath)) is null, \(type) is needed"
        case let DecodingError.dataCorrupted(context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context.codingPath)): \(context.debugDescription)"
        default:
            let nsError = error as NSError
            if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError {
                return underlying.localizedDescription
            }
            return nsError.localizedDescription
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty ? "the document" : keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}
