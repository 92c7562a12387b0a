// fuzz-markdown: the Markdown extractor (MarkdownTextExtractor) and everything ingest does
// after it with the text (DocumentPipeline): decoding, detection, chunking, analysis,
// embedding, with the layout invariants checked. Input: the file's bytes.
import FuzzDocumentSupport
import FuzzSupport
import Knowledge

final class MarkdownFuzzTarget: FuzzTarget {
    func run(_ input: UnsafeRawBufferPointer) {
        DocumentPipeline.run(input, format: .markdown, path: "fuzz.md")
    }
}

FuzzDriver.run(MarkdownFuzzTarget())
