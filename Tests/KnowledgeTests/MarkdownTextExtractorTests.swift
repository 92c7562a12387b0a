import Testing
@testable import Knowledge

@Suite struct MarkdownTextExtractorTests {
    static func blocks(_ document: ExtractedDocument) -> [(TextBlock.Kind, String)] {
        let scalars = Array(document.text.unicodeScalars)
        return document.blocks.map { block in
            (block.kind, String(String.UnicodeScalarView(scalars[block.start..<block.end])))
        }
    }

    static let guide = """
        ---
        title: "Tuning Guide"
        tags: [postgres, memory]
        ---

        # Server *Configuration*

        Intro paragraph with **bold**, _emphasis_, `inline_code()`, a [link](https://example.com/a_(b) "title") and
        an image ![badge](https://img.shields.io/x.svg) plus snake_case_name and 2 * 3.

        Setext Heading
        --------------

        - item one
        - item [two][ref]
          continued line
        1. numbered
        - [x] done task

        ```swift
        let x = 1
        // # not a heading

            indented inside fence
        ```

        > quoted *text*
        > on two lines

        | Name | Default |
        |------|--------:|
        | `work_mem` | 4MB |
        | a \\| b | |

        [ref]: https://example.com
        <!-- a comment -->
        Text with \\*escaped\\* stars &amp; entity, <https://postgresql.org> and <span>inline html</span>.

        ***

            indented code block
            second line

        Final ## paragraph ##
        ## Closing hashes ##
        """

    @Test func extractsHeadingsListsCodeTablesAndInlineText() {
        let document = MarkdownTextExtractor().extract(Self.guide, fallbackTitle: "guide")
        #expect(document.title == "Tuning Guide")
        let expected: [(TextBlock.Kind, String)] = [
            (.heading(level: 1), "Server Configuration"),
            (.paragraph, "Intro paragraph with bold, emphasis, inline_code(), a link and an image plus snake_case_name and 2 * 3."),
            (.heading(level: 2), "Setext Heading"),
            (.listItem, "item one"),
            (.listItem, "item two continued line"),
            (.listItem, "numbered"),
            (.listItem, "done task"),
            (.code, "let x = 1\n// # not a heading\n\n    indented inside fence"),
            (.paragraph, "quoted text on two lines"),
            (.tableRow, "Name | Default"),
            (.tableRow, "work_mem — Default: 4MB"),
            (.tableRow, "a | b"),
            (.paragraph, "Text with *escaped* stars & entity, https://postgresql.org and inline html."),
            (.code, "indented code block\nsecond line"),
            (.paragraph, "Final ## paragraph ##"),
            (.heading(level: 2), "Closing hashes"),
        ]
        let blocks = Self.blocks(document)
        #expect(blocks.count == expected.count)
        for (actual, wanted) in zip(blocks, expected) {
            #expect(actual.0 == wanted.0, "\(actual.1)")
            #expect(actual.1 == wanted.1)
        }
        #expect(!document.text.contains("tags:"))
        #expect(!document.text.contains("https://example.com"))
        #expect(!document.text.contains("comment"))
        HTMLTextExtractorTests.checkLayout(document)
    }

    @Test func titleIsFirstLevelOneHeadingWithoutFrontMatter() {
        let document = MarkdownTextExtractor().extract("Some intro.\n\n## Section\n\n# The `ares` Title\n\nText.", fallbackTitle: "file")
        #expect(document.title == "The ares Title")
        let untitled = MarkdownTextExtractor().extract("just text", fallbackTitle: "file")
        #expect(untitled.title == "file")
        let setext = MarkdownTextExtractor().extract("Big Title\n=========\n\ntext", fallbackTitle: "file")
        #expect(setext.title == "Big Title")
    }

    @Test func unclosedConstructsAreText() {
        let inputs = [
            "```\nunclosed fence\n# still code", "[unclosed link", "`unclosed code", "**unclosed bold", "<!-- unclosed comment\nmore",
            "---\nunclosed: front matter", "![", "[a](", "<", "&", "\\", "#", "######", "####### seven", "- ", "1.", "|",
            String(repeating: "[", count: 3000) + "x" + String(repeating: "]", count: 3000),
            String(repeating: "`", count: 100), String(repeating: "*", count: 50) + "text",
            "\u{FEFF}# BOM title\r\n\r\nCRLF text\r\n",
        ]
        for input in inputs {
            let document = MarkdownTextExtractor().extract(input, fallbackTitle: "x")
            HTMLTextExtractorTests.checkLayout(document)
        }
        let fence = MarkdownTextExtractor().extract(inputs[0], fallbackTitle: "x")
        #expect(Self.blocks(fence).map(\.0) == [.code])
        #expect(fence.text == "unclosed fence\n# still code")
        let frontMatter = MarkdownTextExtractor().extract(inputs[5], fallbackTitle: "x")
        #expect(frontMatter.text == "unclosed: front matter")
        let bom = MarkdownTextExtractor().extract(inputs[20], fallbackTitle: "x")
        #expect(bom.title == "BOM title")
        #expect(bom.text == "BOM title\n\nCRLF text")
        #expect(MarkdownTextExtractor().extract("####### seven", fallbackTitle: "x").blocks.first?.kind == .paragraph)
    }

    @Test func tomlFrontMatterAndNestedLists() {
        let markdown = """
            +++
            title = 'From TOML'
            +++
            * outer
              * inner
                more inner

              continuation paragraph
            * second outer

            Paragraph after the list.
            """
        let document = MarkdownTextExtractor().extract(markdown, fallbackTitle: "x")
        #expect(document.title == "From TOML")
        let blocks = Self.blocks(document)
        #expect(blocks.map(\.1) == ["outer", "inner more inner", "continuation paragraph", "second outer", "Paragraph after the list."])
        #expect(blocks.map(\.0) == [.listItem, .listItem, .listItem, .listItem, .paragraph])
    }
}
