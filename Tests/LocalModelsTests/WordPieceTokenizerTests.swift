import Foundation
import Testing
@testable import LocalModels

/// The tokenizer against the reference: Hugging Face's `tokenizers` (Rust) loading the same
/// tokenizer.json, with sentence-transformers' settings for this model (no padding, truncation
/// at max_seq_length 256). Every id of a few hundred varied texts must match.
@Suite struct WordPieceTokenizerTests {
    static let referenceScript = """
    import json, sys
    from tokenizers import Tokenizer
    tokenizer = Tokenizer.from_file(sys.argv[1])
    tokenizer.no_padding()
    tokenizer.enable_truncation(int(sys.argv[2]))
    texts = json.load(sys.stdin)
    json.dump([encoding.ids for encoding in tokenizer.encode_batch(texts)], sys.stdout)
    """

    /// Texts chosen to reach each rule: accents and their combining forms, CJK and its
    /// neighbours that are not "Chinese characters" (kana, Hangul, CJK punctuation, the gap in
    /// Extension E), emoji with modifiers and joiners, control and format characters, every kind
    /// of whitespace, punctuation of every category and ASCII symbols, special tokens in the
    /// text, words at and over the 100-character limit, and texts past the 256-token limit.
    static let handPicked: [String] = [
        "", " ", "\n\t\r", "Hello, world!", "HELLO WORLD", "don't stop-believing... (really?)",
        "Café", "Cafe\u{301}", "naïve façade résumé", "Ångström ñandú Øresund Łódź Đakovo ĳ ǅ",
        "İstanbul ıi ǰ ẞ ß ﬁ ﬀ Ⅻ ① ㈱", "ΑΒΓ αβγ ς Σ ΐ", "Русский текст Ёж", "עברית العربية",
        "日本語のテキスト", "中文文本，标点。", "한국어 문장", "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ１２３",
        "\u{2B820}\u{2B91F}\u{2B920} ext E gap", "\u{F900}\u{FA0E} compatibility", "\u{20000}\u{2A700}\u{2F800}",
        "🚀🔥👍🏽 👨‍👩‍👧‍👦 🇩🇪", "a\u{0}b\u{1}c\u{7F}d\u{85}e", "zero\u{200B}width\u{200D}joiner\u{FEFF}bom\u{AD}soft",
        "nbsp\u{A0}em\u{2003}ideographic\u{3000}line\u{2028}para\u{2029}", "\u{FFFD}replacement", "private\u{E000}use",
        "unassigned\u{0378}\u{E0001}tag", "vertical\u{B}form\u{C}feed \u{1C}\u{1F}",
        "$100 + 5% = <x> ^ | ~ ` @ # & * _ \\ / {}", "«guillemets» „quotes“ ‘single’ — – ‐ … ・ ¿¡",
        "price: 5€ £3 ¥7 © ® ™ ° ± × ÷ √ ∞ ≠ ≤", "[CLS] [SEP] [PAD] [MASK] [UNK]", "x[SEP]y [sep] [SEP", "[[SEP]]",
        "SELECT * FROM pg_stat_activity WHERE state = 'idle in transaction';", "pg_dump -Fc -f db.dump mydb",
        "postgresql.conf: shared_buffers = 128MB # min 128kB", "https://www.postgresql.org/docs/15/index.html",
        String(repeating: "a", count: 100), String(repeating: "a", count: 101), String(repeating: "é", count: 101),
        String(repeating: "ab", count: 60) + " tail", "supercalifragilisticexpialidocious antidisestablishmentarianism",
        String(repeating: "word ", count: 300), String(repeating: "日本", count: 200), String(repeating: "x, ", count: 260),
        "e\u{301}\u{302}\u{303} o\u{308}\u{304} combining stack", "ﬁnance ﬂow Ǆ ǆ", "mixed日本English한국",
        "tab\tinside\tand\u{0}nul", "🙂", "\u{1F3FD}", "a\u{E0041}b",
    ]

    /// Deterministic pseudo-random texts over a mix of scripts and character classes.
    static func generated(count: Int) -> [String] {
        let pools: [[Unicode.Scalar]] = [
            Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".unicodeScalars),
            Array("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars),
            Array("àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿĀāĂăĄąĆćČčĎďĘęĚěĞğĪīıŁłŃńŇňŐőŒœŘřŚśŠšŞşŢţŤťŮůŰűŸŹźŻżŽž".unicodeScalars),
            Array("αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩабвгдежзийклмнопрстуфхцчшщъыьэюяАБВ".unicodeScalars),
            Array("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明家".unicodeScalars),
            Array("ぁあいうえおかきくけこさしすせそアイウエオカキクケコ가나다라마바사아자차카타파하한글".unicodeScalars),
            Array("😀😃😄😁🚀🔥👍🏽❤️✨🎉🇺🇸".unicodeScalars),
            ["\t", "\n", "\r", "\u{0}", "\u{7}", "\u{AD}", "\u{200B}", "\u{200D}", "\u{FEFF}", "\u{A0}", "\u{2003}", "\u{3000}", "\u{301}", "\u{308}", "\u{FFFD}"],
            Array("—–‐…«»“”‘’„‚¿¡§¶†‡•·、。「」『』【】〈〉！？，：；€£¥©®™°±×÷√∞≠≤≥".unicodeScalars),
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        return (0..<count).map { _ in
            var text = ""
            let words = next(30)
            for _ in 0..<words {
                let pool = pools[next(pools.count) < 4 ? 0 : next(pools.count)]
                for _ in 0...next(12) { text.unicodeScalars.append(pool[next(pool.count)]) }
                text.unicodeScalars.append(next(5) == 0 ? pools[1][next(pools[1].count)] : " ")
            }
            return text
        }
    }

    static func referenceIDs(of texts: [String], tokenizerFile: URL, maximumLength: Int) throws -> [[Int32]] {
        let output = try LocalModelFixture.runPython(referenceScript, arguments: [tokenizerFile.path, String(maximumLength)],
                                                     input: try JSONEncoder().encode(texts))
        return try JSONDecoder().decode([[Int32]].self, from: output)
    }

    @Test func idsMatchTheReferenceTokenizerOnVariedTexts() async throws {
        let directory = try LocalModelFixture.modelDirectory()
        let tokenizer = try WordPieceTokenizer.load(directory: directory, maximumLength: 256)
        let texts = Self.handPicked + Self.generated(count: 300)
        let expected = try Self.referenceIDs(of: texts, tokenizerFile: directory.appendingPathComponent("tokenizer.json"), maximumLength: 256)
        try #require(expected.count == texts.count)
        var mismatches: [String] = []
        for (text, reference) in zip(texts, expected) {
            let ids = tokenizer.encode(text)
            if ids != reference {
                let firstDifference = zip(ids, reference).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ids.count, reference.count)
                mismatches.append("\(text.debugDescription.prefix(80)): ours \(ids.count) ids, reference \(reference.count), first difference at \(firstDifference)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(texts.count) texts differ:\n\(mismatches.prefix(20).joined(separator: "\n"))")
        // The texts reach the rules they are there for.
        #expect(expected.contains { $0.count == 256 }, "some texts are cut at the limit")
        #expect(expected.contains { $0.contains(100) }, "some words are unknown")
        #expect(texts.count >= 350)
    }

    @Test func theSameIDsWithTheVocabularyFromTokenizerJSONAlone() async throws {
        // A folder with tokenizer.json but no vocab.txt reads the vocabulary from tokenizer.json.
        let source = try LocalModelFixture.modelDirectory()
        let folder = try TemporaryDirectory()
        try FileManager.default.copyItem(at: source.appendingPathComponent("tokenizer.json"), to: folder.url.appendingPathComponent("tokenizer.json"))
        let fromJSON = try WordPieceTokenizer.load(directory: folder.url, maximumLength: 256)
        let fromBoth = try WordPieceTokenizer.load(directory: source, maximumLength: 256)
        #expect(fromJSON.vocabulary.count == 30522)
        for text in Self.handPicked {
            #expect(fromJSON.encode(text) == fromBoth.encode(text))
        }
    }

    @Test func rulesThatDoNotNeedTheReference() throws {
        let vocabulary = WordPieceVocabulary(entries: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "aff", "a", "b", ",", "##b"]
            .enumerated().map { ($1, $0) })
        let tokenizer = try WordPieceTokenizer(normalizer: BertTextNormalizer(), vocabulary: vocabulary, maximumCharactersPerWord: 5, maximumLength: 6)
        #expect(tokenizer.encode("") == [2, 3])
        #expect(tokenizer.encode("Unaffable") == [2, 1, 3], "longer than 5 characters: unknown")
        #expect(tokenizer.encode("unaff") == [2, 5, 6, 3], "greedy longest pieces, ## inside the word")
        #expect(tokenizer.encode("ÀB,b") == [2, 9, 12, 11, 10, 3], "accents stripped, lowercased, punctuation split, cut at 6 ids")
        #expect(tokenizer.encode("unx a") == [2, 1, 9, 3], "a word with an unknown part is one [UNK]")
        #expect(tokenizer.encode("a[SEP]b") == [2, 9, 3, 10, 3], "a special token in the text is that token")
        #expect(throws: LocalModelError.self) {
            try WordPieceTokenizer(normalizer: BertTextNormalizer(), vocabulary: WordPieceVocabulary(entries: [("a", 0)]))
        }
    }
}
