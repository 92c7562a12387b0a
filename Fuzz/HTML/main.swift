// fuzz-html: the HTML extractor (HTMLTextExtractor) and everything ingest does after it with
// the text (DocumentPipeline): decoding, detection, chunking, analysis, embedding, with the
// layout invariants checked. Input: the file's bytes.
import FuzzDocumentSupport
import FuzzSupport
import Knowledge

final class HTMLFuzzTarget: FuzzTarget {
    func run(_ input: UnsafeRawBufferPointer) {
        DocumentPipeline.run(input, format: .html, path: "fuzz.html")
    }
}

FuzzDriver.run(HTMLFuzzTarget())
