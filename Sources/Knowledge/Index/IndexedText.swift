/// The text a chunk is indexed under: its document title and heading path, then its own
/// text. Titles and headings name what a passage is about even when the passage itself
/// never repeats those words, so both the keyword and the vector index see them.
enum IndexedText {
    static func compose(title: String, headingPath: [String], text: String) -> String {
        var parts: [String] = [title]
        parts.append(contentsOf: headingPath.filter { $0 != title })
        parts.append(text)
        return parts.joined(separator: "\n")
    }
}
