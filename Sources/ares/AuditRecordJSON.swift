import Audit
import Foundation

/// How `ares audit list` prints records: a JSON document other tools can rely on
/// (`{"records": [{"position", "time", "recordedAt", "kind", "outcome", "principal",
/// "source", "details", "hash"}]}`), or one line per record for people.
enum AuditRecordJSON {
    private struct Document: Encodable {
        var records: [Record]
    }

    private struct Record: Encodable {
        var position: Int64
        var time: String
        var recordedAt: String
        var kind: String
        var outcome: String
        var principal: String?
        var source: String?
        var details: [String: String]
        var hash: String
    }

    private static let timeStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func document(_ records: [AuditRecord]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let document = Document(records: records.map { record in
            Record(position: record.position, time: record.event.time.formatted(timeStyle), recordedAt: record.recordedAt.formatted(timeStyle),
                   kind: record.event.kind.rawValue, outcome: record.event.outcome.rawValue, principal: record.event.principal,
                   source: record.event.source, details: record.event.details, hash: record.hash)
        })
        return String(decoding: try encoder.encode(document), as: UTF8.self)
    }

    /// One line; control characters in recorded texts (a path sent by anyone) are escaped so
    /// that a record cannot forge further lines on a terminal.
    static func line(_ record: AuditRecord) -> String {
        let event = record.event
        var fields = ["\(event.time.formatted(timeStyle))", "#\(record.position)", event.kind.rawValue, event.outcome.rawValue]
        if let principal = event.principal { fields.append("principal=\(escaped(principal))") }
        if let source = event.source { fields.append("source=\(escaped(source))") }
        for key in event.details.keys.sorted() { fields.append("\(escaped(key))=\(quoted(event.details[key] ?? ""))") }
        return fields.joined(separator: "  ")
    }

    private static func escaped(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control { result += "\\u{\(String(scalar.value, radix: 16))}" } else { result.unicodeScalars.append(scalar) }
        }
        return result
    }

    private static func quoted(_ text: String) -> String {
        let plain = escaped(text)
        return plain.contains(" ") || plain.isEmpty ? "\"\(plain.replacingOccurrences(of: "\"", with: "\\\""))\"" : plain
    }
}
