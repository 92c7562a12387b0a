/// The original Porter (1980) stemming algorithm, as published ("An algorithm for suffix
/// stripping", Program 14(3)) — *without* the departures of Martin Porter's own C release
/// (no "bli" -> "ble", no "logi" -> "log", no skipping of words of one or two letters). It
/// agrees with NLTK's `ORIGINAL_ALGORITHM` mode, which the tests use as reference. Snowball's
/// "porter" (PyStemmer) differs in one rule only: after removing -ed/-ing it undoubles just
/// b, d, f, g, m, n, p, r and t, where the paper undoubles any double consonant but l, s and z
/// ("trekking" -> "trek" here, "trekk" there).
///
/// The work happens in place on a byte buffer so that the analyzer can stem every token without
/// creating intermediate strings; `stem(_:)` is the convenient `String` entry point.
public struct PorterStemmer: Sendable {
    public init() {}

    /// The Porter stem of a lower-case word, e.g. "connections" -> "connect",
    /// "relational" -> "relat".
    ///
    /// The algorithm is defined for English letters only, so a word containing anything other than
    /// ASCII letters (digits, accents, other scripts) is returned unchanged. ASCII upper-case
    /// letters are lower-cased first. As in the published algorithm, "s" alone stems to "".
    public func stem(_ word: String) -> String {
        let utf8 = word.utf8
        guard !utf8.isEmpty else { return word }
        for byte in utf8 where !Self.isASCIILetter(byte) {
            return word
        }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: utf8.count) { buffer in
            var count = 0
            for byte in utf8 {
                buffer[count] = byte | 0x20  // ASCII letters only here, so this lower-cases.
                count += 1
            }
            guard let base = buffer.baseAddress else { return word }
            let stemmed = Self.stem(base, count: count)
            return String(decoding: UnsafeBufferPointer(start: base, count: stemmed), as: UTF8.self)
        }
    }

    /// Stems the `count` lower-case ASCII letters at `bytes` in place; returns the stem's length.
    ///
    /// The stem is never longer than the word, so the caller's buffer of `count` bytes suffices.
    static func stem(_ bytes: UnsafeMutablePointer<UInt8>, count: Int) -> Int {
        guard count > 0 else { return 0 }
        var word = StemmingWord(bytes: bytes, capacity: count)
        word.step1a()
        guard word.k >= 0 else { return 0 }
        word.step1b()
        word.step1c()
        word.step2()
        word.step3()
        word.step4()
        word.step5()
        return word.k + 1
    }

    @inline(__always)
    static func isASCIILetter(_ byte: UInt8) -> Bool {
        let lower = byte | 0x20
        return lower >= 0x61 && lower <= 0x7A
    }
}

// ASCII codes of the letters the algorithm inspects by name.
private let letterA: UInt8 = 0x61, letterC: UInt8 = 0x63, letterE: UInt8 = 0x65
private let letterI: UInt8 = 0x69, letterL: UInt8 = 0x6C, letterN: UInt8 = 0x6E
private let letterO: UInt8 = 0x6F, letterS: UInt8 = 0x73, letterT: UInt8 = 0x74
private let letterU: UInt8 = 0x75, letterV: UInt8 = 0x76, letterW: UInt8 = 0x77
private let letterX: UInt8 = 0x78, letterY: UInt8 = 0x79, letterZ: UInt8 = 0x7A

/// The mutable state of one stemming run, mirroring the reference implementation's variables:
/// `b[0...k]` is the current word and `j` marks the end of the stem before a matched suffix.
private struct StemmingWord {
    let b: UnsafeMutablePointer<UInt8>
    /// Writes never go past the original word; this bound keeps that a checked fact.
    let capacity: Int
    var k: Int
    var j: Int = 0

    init(bytes: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.b = bytes
        self.capacity = capacity
        self.k = capacity - 1
    }

    /// Whether `b[i]` is a consonant. "y" is a consonant at the start of the word or after a vowel,
    /// otherwise a vowel; evaluated over the whole run of y's without recursion so that long
    /// inputs such as "yyyy…" cannot exhaust the stack.
    @inline(__always)
    func isConsonant(_ i: Int) -> Bool {
        switch b[i] {
        case letterA, letterE, letterI, letterO, letterU:
            return false
        case letterY:
            var first = i
            while first > 0 && b[first - 1] == letterY { first -= 1 }
            // The first y of the run is a consonant at the start or after a vowel.
            let firstIsConsonant = first == 0 || !isConsonant(nonY: first - 1)
            return (i - first) % 2 == 0 ? firstIsConsonant : !firstIsConsonant
        default:
            return true
        }
    }

    @inline(__always)
    private func isConsonant(nonY i: Int) -> Bool {
        switch b[i] {
        case letterA, letterE, letterI, letterO, letterU: return false
        default: return true
        }
    }

    /// The measure m of `b[0...j]`: the number of VC sequences in [C](VC)^m[V].
    func measure() -> Int {
        var n = 0
        var i = 0
        while true {
            if i > j { return n }
            if !isConsonant(i) { break }
            i += 1
        }
        i += 1
        while true {
            while true {
                if i > j { return n }
                if isConsonant(i) { break }
                i += 1
            }
            i += 1
            n += 1
            while true {
                if i > j { return n }
                if !isConsonant(i) { break }
                i += 1
            }
            i += 1
        }
    }

    /// Whether `b[0...j]` contains a vowel.
    func stemHasVowel() -> Bool {
        var i = 0
        while i <= j {
            if !isConsonant(i) { return true }
            i += 1
        }
        return false
    }

    /// Whether `b[i-1...i]` is a double consonant.
    func isDoubleConsonant(_ i: Int) -> Bool {
        guard i >= 1, b[i] == b[i - 1] else { return false }
        return isConsonant(i)
    }

    /// Whether `b[i-2...i]` is consonant-vowel-consonant with the last not w, x or y (*o).
    func isCVC(_ i: Int) -> Bool {
        guard i >= 2, isConsonant(i), !isConsonant(i - 1), isConsonant(i - 2) else { return false }
        let last = b[i]
        return last != letterW && last != letterX && last != letterY
    }

    /// Whether the word ends with `suffix`; on a match `j` is set to the end of the stem.
    @inline(__always)
    mutating func ends(_ suffix: StaticString) -> Bool {
        let length = suffix.utf8CodeUnitCount
        guard length <= k + 1 else { return false }
        let start = k + 1 - length
        let s = suffix.utf8Start
        // Comparing the last byte first rejects most suffixes in a single compare.
        guard s[length - 1] == b[k] else { return false }
        for index in 0..<(length - 1) where s[index] != b[start + index] {
            return false
        }
        j = start - 1
        return true
    }

    /// Replaces `b[j+1...k]` with `replacement`.
    mutating func setTo(_ replacement: StaticString) {
        let length = replacement.utf8CodeUnitCount
        // Never taken: no replacement reaches past the end of the original word.
        guard j + length < capacity else { return }
        let s = replacement.utf8Start
        for index in 0..<length {
            b[j + 1 + index] = s[index]
        }
        k = j + length
    }

    /// Replaces the matched suffix if the stem's measure is positive.
    mutating func replaceIfMeasured(_ replacement: StaticString) {
        if measure() > 0 { setTo(replacement) }
    }

    /// Plurals: sses -> ss, ies -> i, ss -> ss, s -> "".
    mutating func step1a() {
        guard b[k] == letterS else { return }
        if ends("sses") {
            k -= 2
        } else if ends("ies") {
            setTo("i")
        } else if k == 0 || b[k - 1] != letterS {
            k -= 1
        }
    }

    /// Past tense and gerunds: (m>0) eed -> ee; (*v*) ed, ing -> "" plus the tidy-up rules.
    mutating func step1b() {
        if ends("eed") {
            if measure() > 0 { k -= 1 }
        } else if (ends("ed") || ends("ing")) && stemHasVowel() {
            k = j
            if ends("at") {
                setTo("ate")
            } else if ends("bl") {
                setTo("ble")
            } else if ends("iz") {
                setTo("ize")
            } else if isDoubleConsonant(k) {
                let last = b[k]
                if last != letterL && last != letterS && last != letterZ { k -= 1 }
            } else {
                j = k
                if measure() == 1 && isCVC(k) { setTo("e") }
            }
        }
    }

    /// (*v*) y -> i.
    mutating func step1c() {
        if ends("y") && stemHasVowel() { b[k] = letterI }
    }

    /// Double suffixes to single ones, e.g. -ization -> -ize, when m > 0. Dispatching on the
    /// penultimate letter, as the reference does, tests only a handful of suffixes per word.
    mutating func step2() {
        guard k >= 2 else { return }
        switch b[k - 1] {
        case letterA:
            if ends("ational") { replaceIfMeasured("ate"); return }
            if ends("tional") { replaceIfMeasured("tion"); return }
        case letterC:
            if ends("enci") { replaceIfMeasured("ence"); return }
            if ends("anci") { replaceIfMeasured("ance"); return }
        case letterE:
            if ends("izer") { replaceIfMeasured("ize"); return }
        case letterL:
            if ends("abli") { replaceIfMeasured("able"); return }
            if ends("alli") { replaceIfMeasured("al"); return }
            if ends("entli") { replaceIfMeasured("ent"); return }
            if ends("eli") { replaceIfMeasured("e"); return }
            if ends("ousli") { replaceIfMeasured("ous"); return }
        case letterO:
            if ends("ization") { replaceIfMeasured("ize"); return }
            if ends("ation") { replaceIfMeasured("ate"); return }
            if ends("ator") { replaceIfMeasured("ate"); return }
        case letterS:
            if ends("alism") { replaceIfMeasured("al"); return }
            if ends("iveness") { replaceIfMeasured("ive"); return }
            if ends("fulness") { replaceIfMeasured("ful"); return }
            if ends("ousness") { replaceIfMeasured("ous"); return }
        case letterT:
            if ends("aliti") { replaceIfMeasured("al"); return }
            if ends("iviti") { replaceIfMeasured("ive"); return }
            if ends("biliti") { replaceIfMeasured("ble"); return }
        default:
            return
        }
    }

    /// -ic-, -full, -ness etc., when m > 0.
    mutating func step3() {
        guard k >= 2 else { return }
        switch b[k] {
        case letterE:
            if ends("icate") { replaceIfMeasured("ic"); return }
            if ends("ative") { replaceIfMeasured(""); return }
            if ends("alize") { replaceIfMeasured("al"); return }
        case letterI:
            if ends("iciti") { replaceIfMeasured("ic"); return }
        case letterL:
            if ends("ical") { replaceIfMeasured("ic"); return }
            if ends("ful") { replaceIfMeasured(""); return }
        case letterS:
            if ends("ness") { replaceIfMeasured(""); return }
        default:
            return
        }
    }

    /// Removes -ant, -ence etc. when m > 1 (for -ion only after s or t).
    mutating func step4() {
        guard k >= 1 else { return }
        switch b[k - 1] {
        case letterA:
            guard ends("al") else { return }
        case letterC:
            guard ends("ance") || ends("ence") else { return }
        case letterE:
            guard ends("er") else { return }
        case letterI:
            guard ends("ic") else { return }
        case letterL:
            guard ends("able") || ends("ible") else { return }
        case letterN:
            // Longest first: a matched "ement" with too small a stem must not fall back to "ment".
            guard ends("ant") || ends("ement") || ends("ment") || ends("ent") else { return }
        case letterO:
            if ends("ion") && j >= 0 && (b[j] == letterS || b[j] == letterT) {
                break
            }
            guard ends("ou") else { return }
        case letterS:
            guard ends("ism") else { return }
        case letterT:
            guard ends("ate") || ends("iti") else { return }
        case letterU:
            guard ends("ous") else { return }
        case letterV:
            guard ends("ive") else { return }
        case letterZ:
            guard ends("ize") else { return }
        default:
            return
        }
        if measure() > 1 { k = j }
    }

    /// (m>1) e -> ""; (m=1 and not *o) e -> ""; (m>1 and *d and *L) -> single letter.
    mutating func step5() {
        j = k
        if b[k] == letterE {
            let m = measure()
            if m > 1 || (m == 1 && !isCVC(k - 1)) { k -= 1 }
        }
        if k >= 0 && b[k] == letterL && isDoubleConsonant(k) && measure() > 1 { k -= 1 }
    }
}
