import Foundation
import FuzzSupport
@testable import Knowledge

/// What ingest does with a file's bytes after reading them (DocumentPreparer), minus the
/// store: decode, detect, extract, chunk, compose the indexed text, analyze, embed. Checks
/// the layout the rest of ares relies on: blocks in order, two scalars apart, inside the text;
/// chunks whose text is exactly their scalar range, with strictly increasing starts.
public enum DocumentPipeline {
    static let chunker = Chunker()
    static let smallChunker = Chunker(targetWords: 8, maxWords: 12, minWords: 4, overlapWords: 3)
    static let analyzer = TextAnalyzer()
    static let embedder = HashingEmbedder(dimension: 32)

    public static func run(_ input: UnsafeRawBufferPointer, format: DocumentFormat, path: String) {
        // Detection and sniffing as ingest does it (it refuses binary content; the extractor
        // below gets every input regardless).
        _ = DocumentFormat.detect(path: path, firstBytes: input.prefix(DocumentFormat.sniffLength))
        _ = DocumentFormat.detect(path: "no-extension", firstBytes: input.prefix(DocumentFormat.sniffLength))
        let decoded = DocumentFormat.decodeText(input)
        let document = format.extract(decoded.text, fallbackTitle: "fuzz")
        let scalars = Array(document.text.unicodeScalars)
        checkLayout(document, scalars: scalars)
        for chunker in [chunker, smallChunker] {
            let drafts = chunker.chunks(of: document)
            checkChunks(drafts, scalars: scalars)
            for draft in drafts.prefix(64) {
                let terms = analyzer.terms(IndexedText.compose(title: document.title, headingPath: draft.headingPath, text: draft.text))
                let vector = embedder.embed(terms: terms)
                guard vector.count == embedder.dimension, vector.allSatisfy(\.isFinite) else {
                    fuzzFailure("the embedding of a chunk has \(vector.count) values, or a non-finite one")
                }
            }
        }
    }

    static func checkLayout(_ document: ExtractedDocument, scalars: [Unicode.Scalar]) {
        var previousEnd = -2
        for (index, block) in document.blocks.enumerated() {
            guard block.start < block.end, block.start >= 0, block.end <= scalars.count else {
                fuzzFailure("block \(index) \(block.start)..<\(block.end) is empty or outside the text (\(scalars.count) scalars)")
            }
            guard block.start == previousEnd + 2 else {
                fuzzFailure("block \(index) starts at \(block.start), not two scalars after the previous block's end \(previousEnd)")
            }
            if previousEnd >= 0, scalars[previousEnd] != "\n" || scalars[previousEnd + 1] != "\n" {
                fuzzFailure("blocks \(index - 1) and \(index) are not separated by \"\\n\\n\"")
            }
            if case let .heading(level) = block.kind, !(1...6).contains(level) {
                fuzzFailure("heading level \(level)")
            }
            previousEnd = block.end
        }
        guard previousEnd == (document.blocks.isEmpty ? -2 : scalars.count) else {
            fuzzFailure("the text (\(scalars.count) scalars) does not end with the last block (at \(previousEnd))")
        }
        if document.blocks.isEmpty, !scalars.isEmpty {
            fuzzFailure("text without blocks: \(scalars.count) scalars")
        }
    }

    static func checkChunks(_ drafts: [ChunkDraft], scalars: [Unicode.Scalar]) {
        var previousStart = -1
        for (index, draft) in drafts.enumerated() {
            guard draft.start > previousStart, draft.start < draft.end, draft.end <= scalars.count else {
                fuzzFailure("chunk \(index) \(draft.start)..<\(draft.end) is out of order, empty or outside the text (\(scalars.count))")
            }
            var expected = String.UnicodeScalarView()
            expected.append(contentsOf: scalars[draft.start..<draft.end])
            guard String(expected) == draft.text else {
                fuzzFailure("chunk \(index)'s text is not the scalars \(draft.start)..<\(draft.end) of the document")
            }
            previousStart = draft.start
        }
    }
}
