// TEMPORARY STUB — replaced by the real analyzer.
public struct TextAnalyzer: Sendable {
    public init(stemming: Bool = true, removeStopWords: Bool = true) {}
    public func terms(_ text: String) -> [String] {
        var out: [String] = []
        forEachTerm(in: text) { out.append($0) }
        return out
    }
    public func forEachTerm(in text: String, _ body: (String) -> Void) {
        for word in text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }) where !["the", "a", "of", "and", "to", "is", "how", "does"].contains(String(word)) {
            body(String(word))
        }
    }
}
