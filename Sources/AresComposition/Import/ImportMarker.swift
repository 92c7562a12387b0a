import Foundation

/// What the database records of an import (`PostgresImportTarget.markerKey`, JSON): which data
/// directory, when it began and, once every part was copied, when it finished. A second run of
/// the same import sees it and continues instead of refusing a database that is not empty.
struct ImportMarker: Codable, Sendable, Equatable {
    var dataDirectory: String
    var startedAt: Date
    var completedAt: Date?

    func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Nil for text that is not a marker (written by hand, say): it then names no import.
    static func decode(_ text: String) -> ImportMarker? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(ImportMarker.self, from: Data(text.utf8))
    }
}
