import Testing
@testable import Knowledge

@Suite struct HTMLTextExtractorTests {
    /// The text of each block, cut out by its scalar offsets, with its kind.
    static func blocks(_ document: ExtractedDocument) -> [(TextBlock.Kind, String)] {
        let scalars = Array(document.text.unicodeScalars)
        return document.blocks.map { block in
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[block.start..<block.end])
            return (block.kind, String(view))
        }
    }

    /// Blocks are in order, hold visible text, have no trailing whitespace, and are separated by
    /// exactly "\n\n".
    static func checkLayout(_ document: ExtractedDocument, sourceLocation: SourceLocation = #_sourceLocation) {
        let scalars = Array(document.text.unicodeScalars)
        var previousEnd = -2
        for block in document.blocks {
            #expect(block.start < block.end, sourceLocation: sourceLocation)
            #expect(block.start == previousEnd + 2, "blocks separated by two scalars", sourceLocation: sourceLocation)
            if previousEnd >= 0 {
                #expect(String(String.UnicodeScalarView(scalars[previousEnd..<block.start])) == "\n\n", sourceLocation: sourceLocation)
            }
            // Preformatted blocks may start with their first line's indentation, nothing else.
            #expect(scalars[block.start] == " " || scalars[block.start] == "\t" || !scalars[block.start].properties.isWhitespace,
                    sourceLocation: sourceLocation)
            #expect(scalars[block.start..<block.end].contains { !$0.properties.isWhitespace }, sourceLocation: sourceLocation)
            #expect(!scalars[block.end - 1].properties.isWhitespace, sourceLocation: sourceLocation)
            previousEnd = block.end
        }
        #expect(previousEnd == (document.blocks.isEmpty ? -2 : scalars.count), sourceLocation: sourceLocation)
    }

    static let page = """
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
        <HTML lang="en">
        <head>
        <meta charset="utf-8">
        <title>20.4. Resource   Consumption &mdash; PostgreSQL</title>
        <link rel="stylesheet" href="stylesheet.css" />
        <style>body { color: red; } p > a { display: none }</style>
        <script type="text/javascript">if (a < b && c > d) { document.write("<p>not text</p></script-ish>"); }</script>
        </head>
        <body>
        <!-- a comment with <p>markup</p> inside -->
        <nav class="top"><a href="/">Home</a> <a href="/docs">Docs</a></nav>
        <div class="navheader"><table width="100%"><tr><td><a href="prev.html">Prev</a></td><td>Up</td></tr></table><hr/></div>
        <div class="sect1">
        <h1 class="title">Server Configuration<a class="headerlink" href="#top">¶</a></h1>
        <p>The <code class="varname">shared_buffers</code> setting&nbsp;controls &ldquo;shared
           memory&rdquo; &#8212; see <a href="x.html" title="a > b">Section 19.4</a>.
        <H2>Resource Consumption</H2>
        <P CLASS="intro">Memory settings: &lt;work_mem&gt; &amp; friends &#x1F600;&#0;.
        <ul><li>first item<li>second <em>item</em></ul>
        <pre class="programlisting">
        SELECT *
          FROM pg_settings
         WHERE name = 'work_mem';
        </pre>
        <table><thead><tr><th>Name</th><th>Default</th></tr></thead>
        <tbody><tr><td>work_mem</td><td></td><td>4MB</td></tr><tr><td><p>maintenance_work_mem</p></td><td>64MB</td></tr></tbody></table>
        <div class="note"><h3 class="title">Note</h3><p>Be careful.</p></div>
        <dl><dt>temp_buffers</dt><dd>Sets the maximum number of temporary buffers.</dd></dl>
        <blockquote>Quoted text</blockquote>
        <svg width="10"><text>svg label</text><path d="M0 0"/></svg>
        <p>Unclosed <b>bold and <i>italic
        <p>Stray </span> end tag, a < sign and <![CDATA[cdata text]]> here.
        </div>
        <div class="navfooter"><a href="next.html">Next</a></div>
        <footer>Copyright footer</footer>
        </body></html>
        """

    @Test func extractsStructureAndDropsNavigation() {
        let document = HTMLTextExtractor().extract(Self.page, fallbackTitle: "fallback")
        #expect(document.title == "20.4. Resource Consumption — PostgreSQL")
        let blocks = Self.blocks(document)
        let expected: [(TextBlock.Kind, String)] = [
            (.heading(level: 1), "Server Configuration"),
            (.paragraph, "The shared_buffers setting controls “shared memory” — see Section 19.4."),
            (.heading(level: 2), "Resource Consumption"),
            (.paragraph, "Memory settings: <work_mem> & friends 😀\u{FFFD}."),
            (.listItem, "first item"),
            (.listItem, "second item"),
            (.code, "SELECT *\n  FROM pg_settings\n WHERE name = 'work_mem';"),
            (.tableRow, "Name | Default"),
            // Cells are paired with their column's header; the third cell's column has none.
            (.tableRow, "work_mem — 4MB"),
            (.tableRow, "maintenance_work_mem — Default: 64MB"),
            (.paragraph, "Note"),
            (.paragraph, "Be careful."),
            (.paragraph, "temp_buffers"),
            (.paragraph, "Sets the maximum number of temporary buffers."),
            (.paragraph, "Quoted text"),
            (.paragraph, "Unclosed bold and italic"),
            (.paragraph, "Stray end tag, a < sign and cdata text here."),
        ]
        #expect(blocks.count == expected.count)
        for (actual, wanted) in zip(blocks, expected) {
            #expect(actual.0 == wanted.0, "\(actual.1)")
            #expect(actual.1 == wanted.1)
        }
        Self.checkLayout(document)
        for dropped in ["Home", "Docs", "Prev", "Up", "Next", "not text", "markup", "color", "Copyright", "svg label", "¶", "stylesheet"] {
            #expect(!document.text.contains(dropped), "\(dropped) should be dropped")
        }
    }

    @Test func titleFallsBackToFirstHeadingOneThenToCaller() {
        let withHeading = HTMLTextExtractor().extract("<body><h2>Intro</h2><h1>Main  &amp; Title</h1><p>x</p>", fallbackTitle: "file")
        #expect(withHeading.title == "Main & Title")
        let withNothing = HTMLTextExtractor().extract("<p>just text</p>", fallbackTitle: "file")
        #expect(withNothing.title == "file")
        let emptyTitle = HTMLTextExtractor().extract("<title>  </title><p>text</p>", fallbackTitle: "file")
        #expect(emptyTitle.title == "file")
    }

    @Test func headerAndFooterInsideArticleAreContent() {
        let html = """
            <header><a href="/">Site name</a><ul><li>Menu</li></ul></header>
            <main><article><header><h1>Post title</h1><p class="byline">By Ann</p></header>
            <p>Body text.</p><footer>Posted in Databases</footer></article></main>
            <div role="navigation">Skip to content</div><footer>Site footer</footer>
            """
        let document = HTMLTextExtractor().extract(html, fallbackTitle: "x")
        #expect(Self.blocks(document).map(\.1) == ["Post title", "By Ann", "Body text.", "Posted in Databases"])
        #expect(document.title == "Post title")
    }

    @Test func entitiesDecodeLikeABrowser() {
        let html = "<p>&amp;&lt;&gt;&quot;&apos;&copy;&ndash;&hellip;&rsquo;&lsquo;&eacute;&Omega; &#65;&#x42;&#X43; &#150; &#xD800; &#1114112; &unknown; &amp tail &</p>"
        let document = HTMLTextExtractor().extract(html, fallbackTitle: "x")
        #expect(document.text == "&<>\"'©–…’‘éΩ ABC – \u{FFFD} \u{FFFD} &unknown; & tail &")
    }

    @Test func preKeepsLineBreaksAndIndentation() {
        let html = "<pre>\r\n\r\n    indented line\r\n\tsecond &lt;tab&gt;<br>third\n\n</pre><p>after</p>"
        let document = HTMLTextExtractor().extract(html, fallbackTitle: "x")
        let blocks = Self.blocks(document)
        #expect(blocks.map(\.0) == [.code, .paragraph])
        #expect(blocks[0].1 == "    indented line\n\tsecond <tab>\nthird")
        Self.checkLayout(document)
    }

    @Test func attributesWithAngleBracketsAndOddTags() {
        let html = """
            <p data-x='a > b' title="c>d" class=plain>one</p ><P>two<BR/>three</P>
            <p>x <notatag and more</p><a href="unterminated>four</a><p>five</p>
            <div/>six<unknown-element foo=bar>seven</unknown-element>
            """
        let document = HTMLTextExtractor().extract(html, fallbackTitle: "x")
        let texts = Self.blocks(document).map(\.1)
        #expect(texts.first == "one")
        #expect(texts.contains("two three"))
        #expect(document.text.contains("five"))
        #expect(document.text.contains("sixseven"))
        Self.checkLayout(document)
    }

    @Test func malformedInputNeverCrashesAndKeepsOffsetsConsistent() {
        let inputs = [
            "", "<", "<<<", "</", "</>", "<!", "<!--", "<!-- unclosed comment <p>x</p>", "<![CDATA[", "<?php echo 1;",
            "<div class=\"navheader\">never closed <p>lost</p>", "<script>never closed", "<a href='x", "&", "&#", "&#x;",
            "&#99999999999999999999;", "<p>\u{0}\u{1}control</p>", "<table><td>cell<tr>row", "<li><li><li>", "<h1><h2>x</h1>",
            String(repeating: "<div>", count: 5000) + "deep" + String(repeating: "</div>", count: 10),
            String(repeating: "<b>", count: 1000) + "text", "<pre>", "<pre></pre>", "<title>t", "</body>text after",
            "\u{FEFF}<p>bom</p>", "<p>émoji 😀 and CJK 漢字</p>",
        ]
        for input in inputs {
            let document = HTMLTextExtractor().extract(input, fallbackTitle: "x")
            Self.checkLayout(document)
        }
        let deep = HTMLTextExtractor().extract(inputs[21], fallbackTitle: "x")
        #expect(deep.text == "deep")
        let unclosedNavigation = HTMLTextExtractor().extract("<div class='navheader'>nav<p>x</p></body><p>kept</p>", fallbackTitle: "x")
        #expect(unclosedNavigation.text == "kept")
    }

    @Test func offsetsCountUnicodeScalars() {
        let html = "<h1>Café 😀</h1><p>naïve e\u{301} text</p>"
        let document = HTMLTextExtractor().extract(html, fallbackTitle: "x")
        #expect(document.blocks == [
            TextBlock(kind: .heading(level: 1), start: 0, end: 6),
            TextBlock(kind: .paragraph, start: 8, end: 8 + 13),
        ])
        #expect(Self.blocks(document).map(\.1) == ["Café 😀", "naïve e\u{301} text"])
    }
}
