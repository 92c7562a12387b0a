/// One extractor's single pass over a document's bytes (`MarkupScanner.extract` runs it).
protocol MarkupParser {
    init(scanner: MarkupScanner)
    /// Reads the whole document into `builder`.
    mutating func run()
    var builder: DocumentTextBuilder { get }
    /// The title the document declares for itself, or "".
    var declaredTitle: String { get }
}
