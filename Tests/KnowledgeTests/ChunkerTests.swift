import Testing
@testable import Knowledge

@Suite struct ChunkerTests {
    /// The words of a text as scalar ranges (runs of non-whitespace).
    static func wordRanges(_ text: String) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start: Int?
        for (offset, scalar) in text.unicodeScalars.enumerated() {
            if scalar.properties.isWhitespace {
                if let wordStart = start { ranges.append(wordStart..<offset) }
                start = nil
            } else if start == nil {
                start = offset
            }
        }
        if let wordStart = start { ranges.append(wordStart..<text.unicodeScalars.count) }
        return ranges
    }

    static func wordCount(_ text: String) -> Int { wordRanges(text).count }

    /// The invariants every chunking must satisfy.
    static func checkInvariants(
        _ chunks: [ChunkDraft], of document: ExtractedDocument, chunker: Chunker,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let scalars = Array(document.text.unicodeScalars)
        var previous: ChunkDraft?
        for chunk in chunks {
            #expect(chunk.start < chunk.end, sourceLocation: sourceLocation)
            #expect(chunk.end <= scalars.count, sourceLocation: sourceLocation)
            let slice = String(String.UnicodeScalarView(scalars[chunk.start..<min(chunk.end, scalars.count)]))
            #expect(chunk.text == slice, "text is exactly the slice", sourceLocation: sourceLocation)
            #expect(wordCount(chunk.text) <= chunker.maxWords, sourceLocation: sourceLocation)
            #expect(chunk.text.unicodeScalars.first?.properties.isWhitespace == false, sourceLocation: sourceLocation)
            #expect(chunk.text.unicodeScalars.last?.properties.isWhitespace == false, sourceLocation: sourceLocation)
            if let previous {
                #expect(chunk.start > previous.start, "starts strictly increase", sourceLocation: sourceLocation)
                #expect(chunk.end > previous.end, "each chunk adds new text", sourceLocation: sourceLocation)
            }
            previous = chunk
        }
        // Every word of the document is inside some chunk.
        var chunkIndex = 0
        for word in wordRanges(document.text) {
            while chunkIndex < chunks.count && chunks[chunkIndex].end < word.upperBound { chunkIndex += 1 }
            let covered = chunkIndex < chunks.count && chunks[chunkIndex].start <= word.lowerBound
            #expect(covered, "word at \(word) covered", sourceLocation: sourceLocation)
            if !covered { return }
        }
    }

    /// Sentences of `words` words each, numbered so that every word is distinct.
    static func sentences(_ count: Int, words: Int, tag: String) -> String {
        (0..<count).map { index in
            let body = (1..<words).map { "\(tag)\(index)w\($0)" }.joined(separator: " ")
            return "Sentence \(body)."
        }.joined(separator: " ")
    }

    static func configurationGuide() -> ExtractedDocument {
        var markdown = "# Server Configuration\n\n" + sentences(3, words: 10, tag: "intro") + "\n\n"
        markdown += "## Resource Consumption\n\n"
        for paragraph in 0..<12 {
            markdown += sentences(4, words: 12, tag: "rc\(paragraph)x") + "\n\n"
        }
        markdown += "### Memory\n\n" + sentences(8, words: 12, tag: "mem") + "\n\n"
        markdown += "### Disk\n\n" + sentences(8, words: 12, tag: "disk") + "\n\n"
        markdown += "## Write Ahead Log\n\n"
        for paragraph in 0..<6 {
            markdown += sentences(5, words: 11, tag: "wal\(paragraph)x") + "\n\n"
        }
        markdown += "```\n" + (0..<80).map { "SELECT column\($0) FROM table\($0);" }.joined(separator: "\n") + "\n```\n"
        return MarkdownTextExtractor().extract(markdown, fallbackTitle: "guide")
    }

    @Test func chunksOfAStructuredDocumentKeepTheInvariants() {
        let document = Self.configurationGuide()
        let chunker = Chunker()
        let chunks = chunker.chunks(of: document)
        Self.checkInvariants(chunks, of: document, chunker: chunker)
        #expect(chunks.count >= 5)
        // Sizes: about the target, none tiny except possibly the last of a section.
        let sizes = chunks.map { Self.wordCount($0.text) }
        #expect(sizes.dropLast().allSatisfy { $0 >= chunker.minWords / 2 }, "\(sizes)")
        // The first chunk starts at the top with the title heading and merges the short
        // introduction with the next section's start.
        #expect(chunks[0].start == 0)
        #expect(chunks[0].headingPath == ["Server Configuration"])
        #expect(chunks[0].text.hasPrefix("Server Configuration\n\n"))
        // A chunk deep in the Resource Consumption section knows both headings.
        let resource = chunks.first { $0.text.contains("rc8x0w1") }
        #expect(resource?.headingPath == ["Server Configuration", "Resource Consumption"])
        // The Write Ahead Log section starts a new chunk, which starts at the heading with no
        // overlap into the previous section.
        let wal = chunks.first { $0.text.hasPrefix("Write Ahead Log") }
        #expect(wal?.headingPath == ["Server Configuration", "Write Ahead Log"])
        if let wal, let index = chunks.firstIndex(of: wal), index > 0 {
            #expect(chunks[index - 1].end < wal.start)
        }
        // The code block is cut at line ends, and its chunks stay in the section.
        let code = chunks.filter { $0.text.contains("SELECT column79") }
        #expect(code.count == 1)
        #expect(code.first?.text.hasSuffix("FROM table79;") == true)
        #expect(code.first?.headingPath == ["Server Configuration", "Write Ahead Log"])
    }

    @Test func consecutiveChunksOfASectionOverlapAtASentenceStart() {
        let document = PlainTextExtractor().extract(Self.sentences(60, words: 10, tag: "s"), fallbackTitle: "x")
        let chunker = Chunker()
        let chunks = chunker.chunks(of: document)
        Self.checkInvariants(chunks, of: document, chunker: chunker)
        #expect(chunks.count >= 3)
        for (previous, next) in zip(chunks, chunks.dropFirst()) {
            let overlap = Self.wordCount(String(String.UnicodeScalarView(
                Array(document.text.unicodeScalars)[next.start..<previous.end])))
            #expect((15...45).contains(overlap), "overlap of \(overlap) words")
            #expect(next.text.hasPrefix("Sentence "), "overlap starts at a sentence")
            #expect(previous.text.hasSuffix("."), "chunk ends at a sentence end")
        }
    }

    @Test func smallSectionsMergeAndLargeSectionsSplit() {
        let chunker = Chunker(targetWords: 20, maxWords: 30, minWords: 10, overlapWords: 5)
        var markdown = ""
        for section in 0..<4 {
            markdown += "## Tiny \(section)\n\nShort text \(section) here.\n\n"
        }
        markdown += "## Large\n\n" + Self.sentences(12, words: 6, tag: "big") + "\n\n## After\n\nThe end."
        let document = MarkdownTextExtractor().extract(markdown, fallbackTitle: "x")
        let chunks = chunker.chunks(of: document)
        Self.checkInvariants(chunks, of: document, chunker: chunker)
        // Four tiny sections (6 words each) merge until the chunk reaches minWords.
        #expect(chunks[0].text.hasPrefix("Tiny 0"))
        #expect(chunks[0].text.contains("Tiny 1"))
        #expect(chunks[0].headingPath == ["Tiny 0"])
        // The large section is split, later pieces carry its heading and overlap.
        let large = chunks.filter { $0.headingPath == ["Large"] }
        #expect(large.count >= 3)
        for (previous, next) in zip(large, large.dropFirst()) {
            #expect(next.start < previous.end)
        }
        #expect(chunks.last?.text.hasSuffix("The end.") == true)
    }

    @Test func anUnpunctuatedBlockIsSplitBetweenWords() {
        let words = (0..<1000).map { "word\($0)" }.joined(separator: " ")
        let document = PlainTextExtractor().extract(words, fallbackTitle: "x")
        let chunker = Chunker()
        let chunks = chunker.chunks(of: document)
        Self.checkInvariants(chunks, of: document, chunker: chunker)
        #expect(chunks.count >= 5)
        #expect(chunks.allSatisfy { Self.wordCount($0.text) <= chunker.maxWords })
        #expect(chunks.dropLast().allSatisfy { Self.wordCount($0.text) >= chunker.minWords })
    }

    @Test func offsetsAreUnicodeScalars() {
        let paragraph = (0..<120).map { "naïve café 😀 e\u{301}\($0)." }.joined(separator: " ")
        let document = PlainTextExtractor().extract("Über 🚀\n\n" + paragraph + "\n\n" + paragraph, fallbackTitle: "x")
        let chunker = Chunker(targetWords: 50, maxWords: 80, minWords: 30, overlapWords: 10)
        let chunks = chunker.chunks(of: document)
        Self.checkInvariants(chunks, of: document, chunker: chunker)
        #expect(chunks.count > 4)
    }

    @Test func emptyAndWhitespaceDocumentsHaveNoChunks() {
        #expect(Chunker().chunks(of: ExtractedDocument(title: "t", text: "", blocks: [])).isEmpty)
        let blank = ExtractedDocument(title: "t", text: " \n\t\u{A0}\u{3000} ", blocks: [TextBlock(kind: .paragraph, start: 0, end: 6)])
        #expect(Chunker().chunks(of: blank).isEmpty)
    }

    @Test func wordsOutsideBlocksAreStillCovered() {
        // A hand-made document whose blocks leave words out, overlap, or point past the end.
        let text = "loose words first\n\nHeading\n\nbody text here\n\ntrailing loose words"
        let document = ExtractedDocument(title: "t", text: text, blocks: [
            TextBlock(kind: .heading(level: 1), start: 19, end: 26),
            TextBlock(kind: .paragraph, start: 28, end: 42),
            TextBlock(kind: .paragraph, start: 30, end: 35),
            TextBlock(kind: .paragraph, start: 60, end: 500),
        ])
        let chunker = Chunker()
        let chunks = chunker.chunks(of: document)
        Self.checkInvariants(chunks, of: document, chunker: chunker)
        #expect(chunks.count == 1)
        #expect(chunks.first?.text == text)
        #expect(chunks.first?.headingPath == [])
    }

    @Test func aHeadingStartsANewChunkOnceTheCurrentOneIsLongEnough() {
        let chunker = Chunker(targetWords: 20, maxWords: 30, minWords: 10, overlapWords: 5)
        let markdown = "# A\n\n" + Self.sentences(2, words: 6, tag: "a") + "\n\n## B\n\nShort b.\n\n### C\n\n" + Self.sentences(1, words: 5, tag: "c")
        let document = MarkdownTextExtractor().extract(markdown, fallbackTitle: "x")
        let chunks = chunker.chunks(of: document)
        Self.checkInvariants(chunks, of: document, chunker: chunker)
        #expect(chunks.map(\.headingPath) == [["A"], ["A", "B"]])
        #expect(chunks[1].text.hasPrefix("B\n\nShort b.\n\nC\n\n"))
    }

    @Test func settingsAreClamped() {
        let chunker = Chunker(targetWords: 0, maxWords: -5, minWords: 100, overlapWords: 100)
        #expect(chunker.maxWords == 1 && chunker.targetWords == 1 && chunker.minWords == 1 && chunker.overlapWords == 0)
        let document = PlainTextExtractor().extract("one two three. four five", fallbackTitle: "x")
        let chunks = chunker.chunks(of: document)
        #expect(chunks.map(\.text) == ["one", "two", "three.", "four", "five"])
    }

    /// Random mixtures of markup fragments: no extractor may crash or break the block layout,
    /// and chunking keeps its invariants for any settings.
    @Test func randomMarkupKeepsAllInvariants() {
        let pieces = [
            "<", ">", "</", "<p>", "</p>", "<div class=\"navheader\">", "</div>", "<pre>", "</pre>", "<h1>", "</h2>", "<tr>",
            "<td>", "</table>", "<li>", "&amp;", "&#x1F600;", "&", "#", "# ", "\n", "\n\n", "  ", "word", "Sentence.", "é",
            "😀", "\u{0}", "`", "```", "**", "_", "[", "](", ")", "<!--", "-->", "---", "|", "> ", "1. ", "- ", "    ", "\t",
            "\r\n", "<script>", "</script>", "<![CDATA[", "]]>", "\"", "'", "=", "<nav>", "</nav>", "\u{A0}", "\u{3000}", "~~",
            "<br>", "\\",
        ]
        // SplitMix64: a fixed seed makes every run test the same inputs.
        var state: UInt64 = 42
        func random(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
        for round in 0..<500 {
            let input = (0..<random(300)).map { _ in pieces[random(pieces.count)] }.joined()
            let chunker = Chunker(
                targetWords: 8 + round % 20, maxWords: 12 + round % 30, minWords: round % 10, overlapWords: round % 6)
            let documents = [
                HTMLTextExtractor().extract(input, fallbackTitle: "x"),
                MarkdownTextExtractor().extract(input, fallbackTitle: "x"),
                PlainTextExtractor().extract(input, fallbackTitle: "x"),
            ]
            for document in documents {
                var previousEnd = -2
                for block in document.blocks {
                    #expect(block.start == previousEnd + 2 && block.start < block.end, "\(input.debugDescription)")
                    previousEnd = block.end
                }
                #expect(previousEnd == (document.blocks.isEmpty ? -2 : document.text.unicodeScalars.count))
                Self.checkInvariants(chunker.chunks(of: document), of: document, chunker: chunker)
            }
        }
    }
}
