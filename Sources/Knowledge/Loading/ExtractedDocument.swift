// TEMPORARY STUB
public struct ExtractedDocument: Sendable, Equatable {
    public var title: String; public var text: String; public var blocks: [TextBlock]
}
public struct TextBlock: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case heading(level: Int), paragraph }
    public var kind: Kind; public var start: Int; public var end: Int
}
public struct PlainTextExtractor: Sendable {
    public init() {}
    public func extract(_ text: String, fallbackTitle: String) -> ExtractedDocument {
        ExtractedDocument(title: fallbackTitle, text: text, blocks: [TextBlock(kind: .paragraph, start: 0, end: text.unicodeScalars.count)])
    }
}
public struct ChunkDraft: Sendable, Equatable { public var text: String; public var headingPath: [String]; public var start: Int; public var end: Int }
public struct Chunker: Sendable {
    public init() {}
    public func chunks(of document: ExtractedDocument) -> [ChunkDraft] {
        document.text.isEmpty ? [] : [ChunkDraft(text: document.text, headingPath: [], start: 0, end: document.text.unicodeScalars.count)]
    }
}
