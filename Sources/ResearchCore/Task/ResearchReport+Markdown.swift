extension ResearchReport {
    /// The Markdown form of a report: the question as title, its notes, the direct answer,
    /// a section per sub-question, and the numbered sources. It lives with the report because
    /// more than the synthesizer renders it: the workflow adds notes, verifiers drop claims.
    public static func renderMarkdown(question: String, answer: String, sections: [Section], citations: [Citation], notes: [String] = []) -> String {
        var lines = ["# \(question)", ""]
        for note in notes { lines += ["> Note: \(note)", ""] }
        lines += [answer, ""]
        for section in sections where sections.count > 1 || section.citations.isEmpty == false {
            lines += ["## \(section.title)", "", section.text, ""]
        }
        lines += ["## Sources", ""]
        for citation in citations {
            let passage = citation.passage
            let headings = passage.headingPath.filter { $0 != passage.title }
            let heading = headings.isEmpty ? "" : " › " + headings.joined(separator: " › ")
            lines.append("\(citation.index). \(passage.title)\(heading) — \(passage.source) (\(passage.chunkId))")
        }
        return lines.joined(separator: "\n")
    }
}
