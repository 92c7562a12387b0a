import Testing

@testable import Knowledge

@Suite("TextAnalyzer")
struct TextAnalyzerTests {
    let analyzer = TextAnalyzer()
    let unstemmed = TextAnalyzer(stemming: false)
    let plain = TextAnalyzer(stemming: false, removeStopWords: false)

    @Test("case is folded and words are stemmed")
    func caseFoldingAndStemming() {
        #expect(analyzer.terms("Connections CONNECTED connecting") == ["connect", "connect", "connect"])
        #expect(analyzer.terms("The Relational Planner") == ["relat", "planner"])
    }

    @Test("diacritics are folded and the folded word is stemmed like ASCII")
    func diacritics() {
        #expect(analyzer.terms("Café") == ["cafe"])
        #expect(analyzer.terms("Cafés naïve Ångström") == ["cafe", "naiv", "angstrom"])
        #expect(plain.terms("ÉCOLE Crème brûlée") == ["ecole", "creme", "brulee"])
        // Decomposed input: e + combining acute accent.
        #expect(plain.terms("e\u{301}cole") == ["ecole"])
        #expect(plain.terms("Straße") == ["strasse"])
        // A combining mark with nothing before it to modify is not a word character.
        #expect(plain.terms("\u{301}abc \u{301}") == ["abc"])
        #expect(plain.terms("foo_\u{301}bar") == ["foo", "bar"])
    }

    @Test("full-width letters fold to ASCII")
    func fullWidth() {
        #expect(plain.terms("ＰｏｓｔｇｒｅＳＱＬ １５") == ["postgresql", "15"])
    }

    @Test("stop words are removed before stemming, and kept when asked")
    func stopWords() {
        #expect(analyzer.terms("How to configure the server") == ["configur", "server"])
        #expect(analyzer.terms("what is a an the of and") == [])
        #expect(plain.terms("How to configure the server") == ["how", "to", "configure", "the", "server"])
        #expect(unstemmed.terms("How to configure the servers") == ["configure", "servers"])
        // Stop words are tested before stemming: "beings" stems to "be" but is not removed.
        #expect(analyzer.terms("being beings") == ["be"])
    }

    @Test("a possessive 's is dropped and inner apostrophes are deleted")
    func apostrophes() {
        #expect(analyzer.terms("PostgreSQL's planner") == ["postgresql", "planner"])
        #expect(analyzer.terms("PostgreSQL\u{2019}s planner") == ["postgresql", "planner"])
        #expect(plain.terms("don't can\u{2019}t O'Reilly") == ["dont", "cant", "oreilly"])
        #expect(analyzer.terms("don't panic") == ["panic"])
        #expect(analyzer.terms("the users' rights") == ["user", "right"])
        // Quotes around words are not apostrophes inside them.
        #expect(plain.terms("'quoted' words' 's") == ["quoted", "words"])
    }

    @Test("underscore identifiers give their parts and the whole identifier")
    func underscoreIdentifiers() {
        #expect(
            analyzer.terms("Set shared_buffers and max_connections")
                == ["set", "share", "buffer", "shared_buffers", "max", "connect", "max_connections"])
        #expect(analyzer.terms("pg_dump") == ["pg", "dump", "pg_dump"])
        #expect(analyzer.terms("PG_STAT_Activity") == ["pg", "stat", "activ", "pg_stat_activity"])
        // Parts are stop-word-filtered; the identifier itself never is.
        #expect(analyzer.terms("is_superuser") == ["superus", "is_superuser"])
        // Single letters are dropped as parts but the identifier survives.
        #expect(analyzer.terms("a__b") == ["a__b"])
        // Leading and trailing underscores do not make an identifier.
        #expect(analyzer.terms("__init__ trailing_ _x") == ["init", "trail"])
        #expect(analyzer.terms("pg_dump's output") == ["pg", "dump", "pg_dump", "output"])
        #expect(analyzer.terms("wal_level=replica") == ["wal", "level", "wal_level", "replica"])
    }

    @Test("numbers are tokens and words with digits are not stemmed")
    func numbers() {
        #expect(analyzer.terms("PostgreSQL 15 and 8.3") == ["postgresql", "15", "8", "3"])
        #expect(analyzer.terms("UTF8 encodings over IPv6 sockets") == ["utf8", "encod", "ipv6", "socket"])
        #expect(analyzer.terms("1,000 rows") == ["1", "000", "row"])
    }

    @Test("single ASCII letters are dropped; single digits and other characters are kept")
    func singleCharacters() {
        #expect(plain.terms("x y Z 7 π") == ["7", "π"])
        #expect(plain.terms("e.g. i.e.") == [])
    }

    @Test("tokens longer than 64 characters are dropped")
    func longTokens() {
        let sixtyFour = String(repeating: "q", count: 64)
        let sixtyFive = String(repeating: "q", count: 65)
        #expect(plain.terms("\(sixtyFour) \(sixtyFive) ok") == [sixtyFour, "ok"])
        #expect(plain.terms(String(repeating: "Zm9vYmFy", count: 200)).isEmpty)
        // The limit counts characters, not bytes.
        let greek = String(repeating: "λ", count: 64)
        #expect(plain.terms(greek) == [greek])
        #expect(plain.terms(greek + "λ").isEmpty)
        // A too-long identifier still gives its parts.
        let longIdentifier = "alpha_" + String(repeating: "b", count: 60)
        #expect(plain.terms(longIdentifier) == ["alpha", String(repeating: "b", count: 60)])
    }

    @Test("empty, whitespace-only and punctuation-only text give no terms")
    func emptyInputs() {
        #expect(analyzer.terms("").isEmpty)
        #expect(analyzer.terms(" \n\t\r  ").isEmpty)
        let punctuation = "... --- ;;; !? () [] {} <> \u{00A0}\u{2014}\u{201C}\u{201D} → § ___ ' ’"
        #expect(analyzer.terms(punctuation).isEmpty)
    }

    @Test("other scripts: runs of letters, Han ideographs one by one, emoji separate")
    func otherScripts() {
        #expect(analyzer.terms("Москва ΣΊΣΥΦΟΣ") == ["москва", "σισυφοσ"])
        #expect(analyzer.terms("日本語のテキスト") == ["日", "本", "語", "のテキスト"])
        #expect(analyzer.terms("데이터베이스") == ["데이터베이스"])
        #expect(analyzer.terms("cats🐈dogs") == ["cat", "dog"])
        // Mixed scripts in one run stay one token, folded but not stemmed.
        #expect(analyzer.terms("Postgresпостгрес") == ["postgresпостгрес"])
        #expect(analyzer.terms("版本15") == ["版", "本", "15"])
    }

    /// What Foundation alone makes of a one-token word: the reference for the fast folding table.
    private func foundationTerm(_ word: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in TextAnalyzer.foundationFold(word).unicodeScalars
        where TextAnalyzer.isWordScalar(scalar) {
            scalars.append(scalar)
        }
        return String(scalars)
    }

    /// The terms the plain analyzer should give for a one-token word of letters and marks:
    /// leading marks dropped, the rest folded by Foundation, a lone ASCII letter dropped.
    private func expectedPlainTerms(_ word: String) -> [String] {
        let marks: [Unicode.GeneralCategory] = [.nonspacingMark, .spacingMark, .enclosingMark]
        let scalars = word.unicodeScalars.drop { marks.contains($0.properties.generalCategory) }
        let term = foundationTerm(String(String.UnicodeScalarView(scalars)))
        let isOneASCIILetter = term.count == 1 && term.allSatisfy { $0.isASCII && $0.isLetter }
        return term.isEmpty || isOneASCIILetter ? [] : [term]
    }

    @Test("the fast folding of Latin, Greek and Cyrillic letters agrees with Foundation")
    func fastFoldingMatchesFoundation() {
        let letters = (0x80..<0x500).compactMap(Unicode.Scalar.init).filter {
            TextAnalyzer.isWordScalar($0) && !$0.properties.isIdeographic
        }
        #expect(letters.count > 800)
        // Every letter between ASCII letters...
        for letter in letters {
            let word = "Ab\(letter)cd"
            #expect(plain.terms(word) == [foundationTerm(word)], "U+\(String(letter.value, radix: 16))")
        }
        // ...every letter followed by every combining mark...
        let marks = letters.filter {
            [.nonspacingMark, .spacingMark, .enclosingMark].contains($0.properties.generalCategory)
        }
        #expect(marks.count > 100)
        for letter in letters where !marks.contains(letter) {
            for mark in marks {
                let word = "Ab\(letter)\(mark)cd"
                let expected = foundationTerm(word)
                if plain.terms(word) != [expected] {
                    let pair = "U+\(String(letter.value, radix: 16)) U+\(String(mark.value, radix: 16))"
                    Issue.record("\(pair): \(plain.terms(word)) != [\(expected)]")
                }
            }
        }
        // ...and in reproducible random words mixing them, marks at the start included.
        var random = SplitMix64(seed: 42)
        for _ in 0..<3_000 {
            var word = random.next() % 4 == 0 ? "" : "q"
            for _ in 0..<(3 + Int(random.next() % 8)) {
                word.unicodeScalars.append(letters[Int(random.next() % UInt64(letters.count))])
                if random.next() % 3 == 0 { word += "e" }
            }
            #expect(plain.terms(word) == expectedPlainTerms(word), "\(word)")
        }
    }

    @Test("invalid UTF-8 is repaired by String and separates words")
    func invalidUTF8() {
        // "tables", a stray continuation byte, "rows", a truncated two-byte sequence.
        let bytes: [UInt8] = [0x74, 0x61, 0x62, 0x6C, 0x65, 0x73, 0xFF, 0x72, 0x6F, 0x77, 0x73, 0xC3]
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(analyzer.terms(text) == ["tabl", "row"])
    }

    @Test("terms equals the sequence passed to forEachTerm")
    func termsMatchesForEachTerm() {
        let samples = [
            "", "The Quick BROWN foxes", "Set shared_buffers = '128MB'; PostgreSQL's WAL_LEVEL",
            "Cafés, naïve résumés — “quoted” text’s end", "日本語のテキスト 版本15 cats🐈dogs",
            String(repeating: "relational databases are indexed, ", count: 50),
        ]
        for options in [(true, true), (false, true), (true, false), (false, false)] {
            let configured = TextAnalyzer(stemming: options.0, removeStopWords: options.1)
            for sample in samples {
                var streamed: [String] = []
                configured.forEachTerm(in: sample) { streamed.append($0) }
                #expect(configured.terms(sample) == streamed)
            }
        }
    }

    @Test("a realistic sentence from the PostgreSQL manual")
    func realisticSentence() {
        let sentence = """
            Sets the amount of memory the database server uses for shared memory buffers. \
            The default is typically 128 megabytes (128MB), but might be less if your kernel \
            settings will not support it (as determined during initdb).
            """
        #expect(
            analyzer.terms(sentence) == [
                "set", "amount", "memori", "databas", "server", "us", "share", "memori", "buffer",
                "default", "typic", "128", "megabyt", "128mb", "might", "less", "kernel", "set",
                "will", "support", "determin", "initdb",
            ])
    }

    @Test("a term is never empty, too long, upper-case or made of separators")
    func termInvariants() {
        let text = """
            <p>The CREATE INDEX command’s CONCURRENTLY option (since 8.2) avoids locking; see \
            pg_stat_progress_create_index. Über naïve façades: Ⅻ ½ x² ﬁle ＡＢＣ Ωmega s S</p>
            """
        for term in analyzer.terms(text) {
            #expect(!term.isEmpty)
            #expect(term.unicodeScalars.count <= TextAnalyzer.maxTermLength)
            #expect(term == term.lowercased(), "\(term)")
            let isWordCharacter = { (scalar: Unicode.Scalar) in
                TextAnalyzer.isWordScalar(scalar) || scalar == "_"
            }
            #expect(term.unicodeScalars.allSatisfy(isWordCharacter), "\(term)")
        }
    }

    @Test("the analyzer is usable from concurrent tasks")
    func concurrentUse() async {
        let analyzer = self.analyzer
        let expected = analyzer.terms("Indexing shared_buffers concurrently")
        await withTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask { analyzer.terms("Indexing shared_buffers concurrently") }
            }
            for await result in group {
                #expect(result == expected)
            }
        }
    }
}

@Suite("EnglishStopWords")
struct EnglishStopWordsTests {
    @Test("a classic list of common function words")
    func listContents() {
        #expect((120...200).contains(EnglishStopWords.words.count))
        for word in ["a", "an", "the", "is", "of", "and", "to", "in", "how", "what", "dont", "themselves"] {
            #expect(EnglishStopWords.contains(word), "\(word)")
        }
        for word in ["database", "index", "shell", "id", "well", "", "thee", "ther", "themselvesx"] {
            #expect(!EnglishStopWords.contains(word), "\(word)")
        }
        #expect(EnglishStopWords.contains("The"))
    }

    @Test("the allocation-free table agrees with the set, near misses included")
    func tableAgreesWithSet() {
        for word in EnglishStopWords.words {
            #expect(EnglishStopWords.contains(word), "\(word)")
            let nearMisses = [String(word.dropLast()), word + "s", "z" + word.dropFirst(), word + word]
            for candidate in nearMisses {
                let inSet = EnglishStopWords.words.contains(candidate)
                #expect(EnglishStopWords.contains(candidate) == inSet, "\(candidate)")
            }
        }
    }
}

/// A small seeded generator, so that the random cases are the same on every run.
private struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
