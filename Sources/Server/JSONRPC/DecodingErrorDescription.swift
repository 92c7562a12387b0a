/// Turns a `DecodingError` into a sentence that names the offending field by its path, e.g.
/// "params.message.parts[0].text: expected a string".
enum DecodingErrorDescription {
    static func describe(_ error: any Error, root: String = "params") -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case let .typeMismatch(type, context):
            return "\(path(context.codingPath, root: root)): expected \(name(of: type))"
        case let .valueNotFound(type, context):
            return "\(path(context.codingPath, root: root)): expected \(name(of: type)), found null"
        case let .keyNotFound(key, context):
            return "\(path(context.codingPath + [key], root: root)): required field is missing"
        case let .dataCorrupted(context):
            return "\(path(context.codingPath, root: root)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [any CodingKey], root: String) -> String {
        var text = root
        for key in keys {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return text.isEmpty ? "(the request)" : text
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}
