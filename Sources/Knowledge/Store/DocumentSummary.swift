import Foundation

/// A stored document as remote clients see it in a listing: named by its display name (never
/// the path it was read from on the server), with the number of passages it was cut into.
public struct DocumentSummary: Sendable, Codable, Equatable {
    public var source: String
    public var title: String
    public var format: String
    public var byteSize: Int64
    public var passages: Int
    public var ingestedAt: Date

    public init(source: String, title: String, format: String, byteSize: Int64, passages: Int, ingestedAt: Date) {
        self.source = source
        self.title = title
        self.format = format
        self.byteSize = byteSize
        self.passages = passages
        self.ingestedAt = ingestedAt
    }
}
