import Testing
@testable import Knowledge

@Suite struct DocumentFormatTests {
    static func detect(_ path: String, _ text: String) -> Result<DocumentFormat, DocumentFormat.Unsupported> {
        DocumentFormat.detect(path: path, firstBytes: Array(text.utf8))
    }

    @Test func extensionDecidesAmongTextFormats() {
        #expect(Self.detect("docs/wal.html", "<p>x</p>") == .success(.html))
        #expect(Self.detect("docs/WAL.HTM", "plain") == .success(.html))
        #expect(Self.detect("README.md", "# Title") == .success(.markdown))
        #expect(Self.detect("notes/guide.markdown", "text") == .success(.markdown))
        #expect(Self.detect("notes.txt", "<!DOCTYPE html><html>") == .success(.plainText))
        #expect(Self.detect("empty.txt", "") == .success(.plainText))
    }

    @Test func contentIsSniffedWithoutAKnownExtension() {
        #expect(Self.detect("page", "\n  <!DOCTYPE html>\n<html><body>x</body></html>") == .success(.html))
        #expect(Self.detect("page.php", "<html lang=en>") == .success(.html))
        #expect(Self.detect("page.xml", "<?xml version=\"1.0\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\">") == .success(.html))
        #expect(Self.detect("README", "# Project\n\nText") == .success(.markdown))
        #expect(Self.detect("post", "---\ntitle: x\n---\nbody") == .success(.markdown))
        #expect(Self.detect("main.swift", "import Foundation\nprint(1)\n") == .success(.plainText))
        #expect(Self.detect(".bashrc", "export A=1") == .success(.plainText))
    }

    @Test func pdfIsRecognisedByItsSignatureAndANamedPDFWithoutOneIsDamaged() {
        let bySignature = DocumentFormat.detect(path: "download", firstBytes: Array("%PDF-1.7\n%\u{E2}\u{E3}".utf8) + [0, 1, 2])
        #expect(bySignature == .success(.pdf))
        let byExtension = Self.detect("manual.pdf", "anything")
        guard case let .failure(reason) = byExtension, case .pdf = reason else {
            Issue.record("expected a PDF refusal, got \(byExtension)")
            return
        }
        #expect(reason.description.hasPrefix("damaged PDF: "))
    }

    @Test func binaryContentIsRefusedWhateverItsName() {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52]
        #expect(DocumentFormat.detect(path: "logo.png", firstBytes: png) == .failure(.binary))
        #expect(DocumentFormat.detect(path: "notes.txt", firstBytes: Array("text with a NUL \u{0} byte".utf8)) == .failure(.binary))
        #expect(DocumentFormat.detect(path: "page.html", firstBytes: [0x3C, 0x70, 0x3E, 0x00]) == .failure(.binary))
        // No NUL, but mostly bytes that are neither text nor UTF-8.
        let noise = (0..<4096).map { UInt8(truncatingIfNeeded: ($0 * 7919) % 251) | 0x80 }.map { $0 == 0xC2 ? 0x81 : $0 }
        #expect(DocumentFormat.detect(path: "blob", firstBytes: noise) == .failure(.binary))
        #expect(DocumentFormat.Unsupported.binary.description == "binary file")
    }

    @Test func singleByteEncodedTextIsNotBinary() {
        // "Café crème" in Latin-1: two invalid UTF-8 bytes among mostly ASCII.
        let latin1: [UInt8] = Array("Caf".utf8) + [0xE9] + Array(" cr".utf8) + [0xE8] + Array("me, plain text otherwise.".utf8)
        #expect(DocumentFormat.detect(path: "menu.txt", firstBytes: latin1) == .success(.plainText))
        // A multi-byte character cut off by the end of the sample is not evidence of binary.
        let cut = Array(String(repeating: "é", count: 4).utf8).dropLast()
        #expect(DocumentFormat.detect(path: "x.txt", firstBytes: cut) == .success(.plainText))
    }

    @Test func decodingReportsInvalidUTF8AndReplacesIt() {
        let valid = DocumentFormat.decodeText(Array("naïve 😀".utf8))
        #expect(valid == DocumentFormat.DecodedText(text: "naïve 😀", isValidUTF8: true))
        // Mostly UTF-8 (an "é") with damaged bytes: the damage becomes U+FFFD.
        let invalid = DocumentFormat.decodeText([0xC3, 0xA9, 0x66, 0xFF, 0x6F, 0xC3, 0x28, 0xE2, 0x82])
        #expect(invalid.text == "éf\u{FFFD}o\u{FFFD}(\u{FFFD}")
        #expect(!invalid.isValidUTF8)
        #expect(!invalid.decodedAsLatin1)
        // No valid multi-byte sequence at all: a single-byte encoding, read as Latin-1.
        let latin1 = DocumentFormat.decodeText(Array("Caf".utf8) + [0xE9, 0x20, 0xFB])
        #expect(latin1.text == "Café û")
        #expect(!latin1.isValidUTF8)
        #expect(latin1.decodedAsLatin1)
        let bom = DocumentFormat.decodeText([0xEF, 0xBB, 0xBF] + Array("text".utf8))
        #expect(bom == DocumentFormat.DecodedText(text: "text", isValidUTF8: true))
        let utf16LE = DocumentFormat.decodeText([0xFF, 0xFE, 0x68, 0x00, 0xE9, 0x00, 0x3D, 0xD8, 0x00, 0xDE])
        #expect(utf16LE == DocumentFormat.DecodedText(text: "hé😀", isValidUTF8: true))
        let utf16BE = DocumentFormat.decodeText([0xFE, 0xFF, 0x00, 0x68, 0xD8, 0x00])
        #expect(utf16BE == DocumentFormat.DecodedText(text: "h\u{FFFD}", isValidUTF8: false))
        #expect(DocumentFormat.detect(path: "wide.txt", firstBytes: [0xFF, 0xFE, 0x68, 0x00]) == .success(.plainText))
    }

    @Test func loadDetectsDecodesAndExtracts() {
        let html = Array("<html><head><title>WAL</title></head><body><h1>Write-Ahead Log</h1><p>caf".utf8) + [0xE9] + Array("</p>".utf8)
        guard case let .success(loaded) = DocumentFormat.load(path: "wal.html", bytes: html, fallbackTitle: "wal") else {
            Issue.record("expected a document")
            return
        }
        #expect(loaded.format == .html)
        #expect(!loaded.isValidUTF8)
        #expect(loaded.document.title == "WAL")
        #expect(loaded.decodedAsLatin1)
        #expect(loaded.document.text == "Write-Ahead Log\n\ncafé")
        // A PDF header and nothing else: Poppler cannot open it, and says so in the reason.
        guard case let .failure(.pdf(reason)) = DocumentFormat.load(path: "a.pdf", bytes: Array("%PDF-1.4".utf8), fallbackTitle: "a") else {
            Issue.record("a PDF with a header only was not refused")
            return
        }
        #expect(reason.hasPrefix("damaged PDF: "))
        let markdown = DocumentFormat.load(path: "notes.md", bytes: Array("# Notes\n\nBody".utf8), fallbackTitle: "notes")
        #expect((try? markdown.get())?.document.title == "Notes")
    }
}

@Suite struct PlainTextExtractorTests {
    @Test func paragraphsSplitOnBlankLinesAndKeepTheirLineBreaks() {
        let text = "\u{FEFF}First line   \r\nsecond line\r\n\r\n  \t \n\n  Indented start\n\u{7}bell\n\n\u{C}\nLast"
        let document = PlainTextExtractor().extract(text, fallbackTitle: "notes")
        #expect(document.title == "notes")
        #expect(document.text == "First line\nsecond line\n\n  Indented start\nbell\n\nLast")
        #expect(document.blocks.map(\.kind) == [.paragraph, .paragraph, .paragraph])
        HTMLTextExtractorTests.checkLayout(document)
        #expect(PlainTextExtractor().extract(" \n\n \t", fallbackTitle: "x").blocks.isEmpty)
    }
}
