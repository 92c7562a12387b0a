/// A passage cut out of a document, before it is embedded and stored.
///
/// `text` is exactly the Unicode scalars `start..<end` of the document's text, so offsets and
/// text can never disagree. `headingPath` is the stack of headings the passage sits under,
/// outermost first (for example ["20. Server Configuration", "20.4. Resource Consumption"]).
public struct ChunkDraft: Sendable, Equatable {
    public var text: String
    public var headingPath: [String]
    public var start: Int
    public var end: Int
    /// The page the passage is on, for paged documents (PDF); nil otherwise.
    public var page: Int?

    public init(text: String, headingPath: [String], start: Int, end: Int, page: Int? = nil) {
        self.text = text
        self.headingPath = headingPath
        self.start = start
        self.end = end
        self.page = page
    }
}

/// Cuts an extracted document into passages of about `targetWords` words along its structure.
///
/// - Blocks accumulate into one chunk; a chunk never exceeds `maxWords` words (a word is a run
///   of non-whitespace). When it would, it is cut at the block boundary closest to
///   `targetWords` among those leaving at least `minWords`, else at the closest sentence end,
///   else at the last block or sentence end, and only failing all of that (one enormous
///   sentence) between two words.
/// - A heading starts a new chunk once the current chunk has `minWords` words: short
///   sections merge with their neighbours, long ones split. A chunk never ends with a heading.
/// - A chunk that continues a section (rather than starting at a heading) begins with about
///   `overlapWords` words from the end of the previous chunk, from a sentence start if one is
///   near, so a sentence cut in two is still whole in one of them.
/// - Every word of the document is in at least one chunk; chunks are in text order with
///   strictly increasing starts. A document without words has no chunks.
/// - A paged document (a PDF: `ExtractedDocument.pages` is not empty) is cut page by page, so
///   that every passage is on exactly one page and can cite it (`ChunkDraft.page`); every
///   word on a page is in at least one chunk.
public struct Chunker: Sendable {
    public let targetWords: Int
    public let maxWords: Int
    public let minWords: Int
    public let overlapWords: Int

    /// Out-of-range settings are clamped: `1 ≤ targetWords ≤ maxWords`,
    /// `0 ≤ minWords ≤ targetWords`, and `overlapWords ≤ maxWords / 3` so that every chunk
    /// has room for new words.
    public init(targetWords: Int = 200, maxWords: Int = 300, minWords: Int = 150, overlapWords: Int = 30) {
        let maxWords = max(1, maxWords)
        let targetWords = min(max(1, targetWords), maxWords)
        self.maxWords = maxWords
        self.targetWords = targetWords
        self.minWords = min(max(0, minWords), targetWords)
        self.overlapWords = min(max(0, overlapWords), maxWords / 3)
    }

    public func chunks(of document: ExtractedDocument) -> [ChunkDraft] {
        guard !document.pages.isEmpty else { return chunks(text: document.text, blocks: document.blocks) }
        return pagedChunks(of: document)
    }

    private func chunks(text: String, blocks: [TextBlock]) -> [ChunkDraft] {
        var text = text
        return text.withUTF8 { bytes in
            let layout = WordLayout(bytes: bytes, blocks: blocks)
            guard !layout.words.isEmpty else { return [] }
            return cut(layout, bytes: bytes)
        }
    }

    /// Cuts each page on its own (its text and blocks rebased to the page's start) and moves
    /// the chunks back to document offsets. Pages must be in order and must not overlap; one
    /// that does not fit the text (a hand-built document) is left out rather than trusted.
    private func pagedChunks(of document: ExtractedDocument) -> [ChunkDraft] {
        let scalars = document.text.unicodeScalars
        var cursor = scalars.startIndex
        var position = 0
        var blockIndex = 0
        let blocks = document.blocks.sorted { $0.start < $1.start }
        var drafts: [ChunkDraft] = []
        for page in document.pages {
            guard page.start >= position, page.end > page.start,
                  let start = scalars.index(cursor, offsetBy: page.start - position, limitedBy: scalars.endIndex),
                  let end = scalars.index(start, offsetBy: page.end - page.start, limitedBy: scalars.endIndex)
            else { continue }
            while blockIndex < blocks.count, blocks[blockIndex].end <= page.start { blockIndex += 1 }
            var pageBlocks: [TextBlock] = []
            while blockIndex < blocks.count, blocks[blockIndex].start < page.end {
                let block = blocks[blockIndex]
                let clipped = TextBlock(kind: block.kind, start: max(block.start, page.start) - page.start,
                                        end: min(block.end, page.end) - page.start)
                if clipped.end > clipped.start { pageBlocks.append(clipped) }
                if block.end > page.end { break }
                blockIndex += 1
            }
            for var draft in chunks(text: String(scalars[start..<end]), blocks: pageBlocks) {
                draft.start += page.start
                draft.end += page.start
                draft.page = page.number
                drafts.append(draft)
            }
            cursor = end
            position = page.end
        }
        return drafts
    }

    private func cut(_ layout: WordLayout, bytes: UnsafeBufferPointer<UInt8>) -> [ChunkDraft] {
        let words = layout.words
        var drafts: [ChunkDraft] = []
        drafts.reserveCapacity(words.count / max(1, targetWords - overlapWords) + 1)
        var begin = 0
        // The end of the previous chunk: the next one must reach past it.
        var previousEnd = 0
        while true {
            let end = chunkEnd(from: begin, previousEnd: previousEnd, words: words)
            drafts.append(draft(words: begin..<end, layout: layout, bytes: bytes))
            guard end < words.count else { break }
            let next = overlapStart(cut: end, chunkStart: begin, layout: layout)
            begin = next
            previousEnd = end
        }
        return drafts
    }

    /// Where the chunk starting at word `begin` ends (exclusive word index).
    private func chunkEnd(from begin: Int, previousEnd: Int, words: [WordLayout.Word]) -> Int {
        let limit = min(words.count, begin + maxWords)
        var bestBlockCut = -1
        var bestBlockDistance = Int.max
        var bestSentenceCut = -1
        var bestSentenceDistance = Int.max
        var lastCleanCut = -1
        var cut = begin + 1
        while cut <= limit {
            if cut == words.count { return cut }
            let count = cut - begin
            let next = words[cut]
            let last = words[cut - 1]
            // A cut must take at least one word the previous chunk did not have, and must not
            // leave a heading dangling at the end of a chunk.
            if cut > previousEnd && !last.isHeading {
                if next.startsBlock {
                    if next.isHeading && count >= minWords { return cut }
                    lastCleanCut = cut
                    if count >= minWords && abs(count - targetWords) < bestBlockDistance {
                        bestBlockDistance = abs(count - targetWords)
                        bestBlockCut = cut
                    }
                } else if last.endsSentence {
                    lastCleanCut = cut
                    if count >= minWords && abs(count - targetWords) < bestSentenceDistance {
                        bestSentenceDistance = abs(count - targetWords)
                        bestSentenceCut = cut
                    }
                }
            }
            cut += 1
        }
        if bestBlockCut >= 0 { return bestBlockCut }
        if bestSentenceCut >= 0 { return bestSentenceCut }
        if lastCleanCut >= 0 && lastCleanCut - begin >= max(1, minWords / 2) { return lastCleanCut }
        // One sentence longer than the room left: cut between words.
        return min(limit, max(previousEnd + 1, begin + targetWords))
    }

    /// Where the chunk after a cut at word `cut` starts: at the cut when a heading starts
    /// there (a new section), else about `overlapWords` words earlier, preferably at a
    /// sentence start, never before the section's first word or the previous chunk's start.
    private func overlapStart(cut: Int, chunkStart: Int, layout: WordLayout) -> Int {
        let words = layout.words
        guard overlapWords > 0, !words[cut].isHeading else { return cut }
        let lower = max(chunkStart + 1, layout.sectionStart(ofWord: cut))
        guard lower < cut else { return cut }
        let ideal = cut - overlapWords
        let earliest = max(lower, cut - overlapWords * 3 / 2)
        let latest = cut - max(1, overlapWords / 2)
        var best = -1
        var bestDistance = Int.max
        if earliest <= latest {
            for start in earliest...latest where words[start].startsBlock || words[start - 1].endsSentence {
                if abs(start - ideal) < bestDistance {
                    bestDistance = abs(start - ideal)
                    best = start
                }
            }
        }
        return best >= 0 ? best : max(lower, ideal)
    }

    private func draft(words range: Range<Int>, layout: WordLayout, bytes: UnsafeBufferPointer<UInt8>) -> ChunkDraft {
        let first = layout.words[range.lowerBound]
        let last = layout.words[range.upperBound - 1]
        // The chunk sits under the headings in force at its first non-heading word: a chunk
        // that opens with "Chapter 20" then "20.4 Resource Consumption" belongs to both.
        var pathWord = range.upperBound - 1
        for index in range where !layout.words[index].isHeading {
            pathWord = index
            break
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[first.byteStart..<last.byteEnd]), as: UTF8.self)
        return ChunkDraft(
            text: text, headingPath: layout.headingPath(ofWord: pathWord), start: first.scalarStart, end: last.scalarEnd)
    }
}

/// The words of a document with what the chunker needs to know about each: where it is (in
/// bytes and in scalars), whether a block starts with it, whether it ends a sentence, and
/// which block, section and heading path it belongs to. Computed in one pass over the bytes.
struct WordLayout {
    struct Word {
        var byteStart: Int
        var byteEnd: Int
        var scalarStart: Int
        var scalarEnd: Int
        /// Index into `WordLayout.blocks`.
        var block: Int32
        var startsBlock: Bool
        var isHeading: Bool
        var endsSentence: Bool
    }

    private struct BlockInfo {
        var start: Int
        var end: Int
        var kind: TextBlock.Kind
        var pathIndex = 0
        /// First word after the latest heading at or before this block.
        var sectionStart = 0
    }

    private(set) var words: [Word] = []
    private var blocks: [BlockInfo] = []
    private var paths: [[String]] = [[]]

    init(bytes: UnsafeBufferPointer<UInt8>, blocks documentBlocks: [TextBlock]) {
        blocks = Self.normalizedBlocks(documentBlocks)
        words.reserveCapacity(bytes.count / 6)
        scanWords(bytes)
        markSentenceEnds(bytes)
        assignHeadings(bytes)
    }

    func headingPath(ofWord index: Int) -> [String] {
        paths[blocks[Int(words[index].block)].pathIndex]
    }

    func sectionStart(ofWord index: Int) -> Int {
        blocks[Int(words[index].block)].sectionStart
    }

    /// Blocks sorted, clipped to one another, with the gaps between them (which should hold
    /// only the "\n\n" separators, but a hand-built document may have words there) filled by
    /// paragraphs so that every word belongs to exactly one block.
    private static func normalizedBlocks(_ input: [TextBlock]) -> [BlockInfo] {
        let sorted = input.filter { $0.end > $0.start && $0.start >= 0 }.sorted { $0.start < $1.start }
        var result: [BlockInfo] = []
        result.reserveCapacity(sorted.count * 2 + 1)
        var position = 0
        for block in sorted {
            let start = max(block.start, position)
            guard block.end > start else { continue }
            if start > position { result.append(BlockInfo(start: position, end: start, kind: .paragraph)) }
            result.append(BlockInfo(start: start, end: block.end, kind: block.kind))
            position = block.end
        }
        result.append(BlockInfo(start: position, end: Int.max, kind: .paragraph))
        return result
    }

    private mutating func scanWords(_ bytes: UnsafeBufferPointer<UInt8>) {
        var index = 0
        var scalar = 0
        var blockIndex = 0
        var lastBlock = -1
        var inWord = false
        var sawNewlineSinceWord = false
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            let length: Int
            let isSpace: Bool
            if byte < 0x80 {
                length = 1
                isSpace = byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
                if byte == 0x0A { sawNewlineSinceWord = true }
            } else {
                length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
                isSpace = Self.isUnicodeSpace(bytes, at: index)
            }
            if isSpace {
                if inWord {
                    words[words.count - 1].byteEnd = index
                    words[words.count - 1].scalarEnd = scalar
                    inWord = false
                }
            } else if !inWord {
                while scalar >= blocks[blockIndex].end { blockIndex += 1 }
                let startsBlock = blockIndex != lastBlock
                lastBlock = blockIndex
                // In code, a line break ends a "sentence": the natural place to cut it.
                if !startsBlock, sawNewlineSinceWord, blocks[blockIndex].kind == .code {
                    words[words.count - 1].endsSentence = true
                }
                let isHeading: Bool
                if case .heading = blocks[blockIndex].kind { isHeading = true } else { isHeading = false }
                words.append(Word(
                    byteStart: index, byteEnd: index, scalarStart: scalar, scalarEnd: scalar, block: Int32(blockIndex),
                    startsBlock: startsBlock, isHeading: isHeading, endsSentence: false))
                inWord = true
                sawNewlineSinceWord = false
            }
            index += min(length, count - index)
            scalar += 1
        }
        if inWord {
            words[words.count - 1].byteEnd = count
            words[words.count - 1].scalarEnd = scalar
        }
    }

    /// A word ends a sentence when it ends with ".", "!", "?" or "…" (before closing quotes or
    /// brackets) and the next word does not start with a lower-case letter ("e.g. this" is not
    /// two sentences), or when it is the last word of its block.
    private mutating func markSentenceEnds(_ bytes: UnsafeBufferPointer<UInt8>) {
        for index in words.indices {
            if index + 1 == words.count || words[index + 1].startsBlock {
                words[index].endsSentence = true
                continue
            }
            if words[index].endsSentence { continue }
            guard Self.hasSentencePunctuation(bytes, words[index].byteStart..<words[index].byteEnd) else { continue }
            let nextFirst = bytes[words[index + 1].byteStart]
            if !(nextFirst >= UInt8(ascii: "a") && nextFirst <= UInt8(ascii: "z")) {
                words[index].endsSentence = true
            }
        }
    }

    private static func hasSentencePunctuation(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        var end = range.upperBound
        // Skip closing quotes and brackets: ASCII, ’ ” (E2 80 99/9D) and » (C2 BB).
        while end > range.lowerBound {
            let byte = bytes[end - 1]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") || byte == UInt8(ascii: ")") || byte == UInt8(ascii: "]") {
                end -= 1
            } else if end - range.lowerBound >= 3, bytes[end - 3] == 0xE2, bytes[end - 2] == 0x80,
                      bytes[end - 1] == 0x99 || bytes[end - 1] == 0x9D {
                end -= 3
            } else if end - range.lowerBound >= 2, bytes[end - 2] == 0xC2, bytes[end - 1] == 0xBB {
                end -= 2
            } else {
                break
            }
        }
        guard end > range.lowerBound else { return false }
        let last = bytes[end - 1]
        if last == UInt8(ascii: ".") || last == UInt8(ascii: "!") || last == UInt8(ascii: "?") { return true }
        guard end - range.lowerBound >= 3 else { return false }
        let (a, b, c) = (bytes[end - 3], bytes[end - 2], last)
        // … (E2 80 A6), 。(E3 80 82), ！(EF BC 81), ？(EF BC 9F)
        return (a == 0xE2 && b == 0x80 && c == 0xA6) || (a == 0xE3 && b == 0x80 && c == 0x82)
            || (a == 0xEF && b == 0xBC && (c == 0x81 || c == 0x9F))
    }

    /// Unicode white space other than ASCII: U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028,
    /// U+2029, U+202F, U+205F and U+3000.
    private static func isUnicodeSpace(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        let lead = bytes[index]
        let count = bytes.count
        switch lead {
        case 0xC2:
            guard index + 1 < count else { return false }
            return bytes[index + 1] == 0x85 || bytes[index + 1] == 0xA0
        case 0xE1:
            guard index + 2 < count else { return false }
            return bytes[index + 1] == 0x9A && bytes[index + 2] == 0x80
        case 0xE2:
            guard index + 2 < count else { return false }
            let (second, third) = (bytes[index + 1], bytes[index + 2])
            if second == 0x80 { return third <= 0x8A || third == 0xA8 || third == 0xA9 || third == 0xAF }
            return second == 0x81 && third == 0x9F
        case 0xE3:
            guard index + 2 < count else { return false }
            return bytes[index + 1] == 0x80 && bytes[index + 2] == 0x80
        default:
            return false
        }
    }

    /// Computes each block's heading path and section start from the headings before it.
    private mutating func assignHeadings(_ bytes: UnsafeBufferPointer<UInt8>) {
        var stack: [(level: Int, text: String)] = []
        var sectionStart = 0
        var wordIndex = 0
        for blockIndex in blocks.indices {
            let firstWord = wordIndex
            while wordIndex < words.count, words[wordIndex].block == Int32(blockIndex) { wordIndex += 1 }
            if case let .heading(level) = blocks[blockIndex].kind, wordIndex > firstWord {
                while let top = stack.last, top.level >= level { stack.removeLast() }
                stack.append((level, Self.collapsedText(bytes, words[firstWord..<wordIndex])))
                paths.append(stack.map(\.text))
                sectionStart = wordIndex
            }
            blocks[blockIndex].pathIndex = paths.count - 1
            blocks[blockIndex].sectionStart = sectionStart
        }
    }

    private static func collapsedText(_ bytes: UnsafeBufferPointer<UInt8>, _ words: ArraySlice<Word>) -> String {
        var text: [UInt8] = []
        for word in words {
            if !text.isEmpty { text.append(0x20) }
            text.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[word.byteStart..<word.byteEnd]))
        }
        return String(decoding: text, as: UTF8.self)
    }
}
