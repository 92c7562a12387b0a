import Foundation

/// Reading decoded JSON without force casts, and excerpts for a check's detail.
enum ProbeJSON {
    static func value(_ json: Any?, _ path: String...) -> Any? { value(json, path) }

    static func value(_ json: Any?, _ path: [String]) -> Any? {
        var current = json
        for key in path {
            guard let object = current as? [String: Any] else { return nil }
            current = object[key]
        }
        return current
    }

    static func string(_ json: Any?, _ path: String...) -> String? { value(json, path) as? String }
    static func object(_ json: Any?, _ path: String...) -> [String: Any]? { value(json, path) as? [String: Any] }
    static func array(_ json: Any?, _ path: String...) -> [Any]? { value(json, path) as? [Any] }

    /// An integer (JSON numbers without a fraction only).
    static func int(_ json: Any?, _ path: String...) -> Int? {
        guard let number = value(json, path) as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9.0e15 else { return nil }
        return Int(exactly: double)
    }

    static func parse(_ data: Data) -> Any? { try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) }

    /// The first `limit` characters of a body, printable ASCII only (what a report can show).
    static func excerpt(_ data: Data, limit: Int) -> String {
        let scalars = String(decoding: data.prefix(limit * 4), as: UTF8.self).unicodeScalars.prefix(limit)
        let printable = scalars.map { scalar -> Character in
            scalar.isASCII && scalar.value >= 0x20 && scalar.value < 0x7F ? Character(scalar) : "."
        }
        var text = String(printable)
        if data.count > limit { text += "…" }
        return text
    }
}
