/// The English stop list used by `TextAnalyzer`.
///
/// Based on the classic Snowball English stop list (the one shipped with the Porter/Snowball
/// stemmers). Because the tokenizer deletes apostrophes inside words ("don't" -> "dont") and drops
/// a possessive "'s" ("it's" -> "it"), the list's contractions are stored without the apostrophe.
/// Contractions whose apostrophe-free spelling is a real word that matters in technical text
/// ("id", "ill", "hell", "shell", "well", "wed", "shed") are deliberately left out, so that
/// e.g. a query for "shell" still finds shell commands.
///
/// Entries are lower-case ASCII and are compared with the token *before* stemming.
public enum EnglishStopWords {
    /// The stop words, lower-case, apostrophes removed.
    public static let words: Set<String> = Set(list)

    /// Whether `word` is a stop word. Upper-case ASCII letters are folded first, so "The" is one;
    /// anything else is compared as given (every entry is lower-case ASCII).
    public static func contains(_ word: String) -> Bool {
        var utf8 = Array(word.utf8)
        for index in utf8.indices where utf8[index] >= 0x41 && utf8[index] <= 0x5A {
            utf8[index] |= 0x20
        }
        return utf8.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return false }
            return table.contains(base, count: buffer.count)
        }
    }

    /// The lookup structure the analyzer's hot path uses: probing it needs no `String`.
    static let table = StopWordTable(words: list)

    // In the original list's grouping: pronouns, verbs, contractions, function words.
    static let list: [String] = [
        "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours",
        "yourself", "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself",
        "it", "its", "itself", "they", "them", "their", "theirs", "themselves",
        "what", "which", "who", "whom", "this", "that", "these", "those",
        "am", "is", "are", "was", "were", "be", "been", "being",
        "have", "has", "had", "having", "do", "does", "did", "doing",
        "would", "should", "could", "ought",
        // Contractions ("i'm" -> "im"; "we're" is "were", listed above); "he's", "that's",
        // "let's" etc. lose their "'s" in the tokenizer already.
        "im", "youre", "theyre", "ive", "youve", "weve", "theyve",
        "youd", "hed", "theyd", "youll", "theyll",
        "isnt", "arent", "wasnt", "werent", "hasnt", "havent", "hadnt",
        "doesnt", "dont", "didnt", "wont", "wouldnt", "shant", "shouldnt",
        "cant", "cannot", "couldnt", "mustnt",
        "a", "an", "the", "and", "but", "if", "or", "because", "as", "until", "while",
        "of", "at", "by", "for", "with", "about", "against", "between", "into", "through",
        "during", "before", "after", "above", "below", "to", "from", "up", "down", "in", "out",
        "on", "off", "over", "under", "again", "further", "then", "once",
        "here", "there", "when", "where", "why", "how",
        "all", "any", "both", "each", "few", "more", "most", "other", "some", "such",
        "no", "nor", "not", "only", "own", "same", "so", "than", "too", "very",
    ]
}

/// An open-addressing hash set of short ASCII words keyed by their packed bytes.
///
/// The analyzer checks every token against the stop list; building a `String` just to ask a
/// `Set<String>` would cost an allocation-free but still hashing-heavy round trip per word. Stop
/// words are at most 16 bytes, so a word packs into two `UInt64`s (bytes are never 0, so no
/// length is needed to tell "a" from "a\0") and a probe is a multiply, a shift and a compare.
struct StopWordTable: Sendable {
    private let low: [UInt64]
    private let high: [UInt64]
    private let shift: UInt64
    private let mask: Int
    /// Longer tokens cannot be stop words; checking this first skips most long words cheaply.
    let maxLength: Int

    init(words: [String]) {
        let slotBits = 9  // 512 slots for under 200 words keeps probe chains very short.
        let slots = 1 << slotBits
        var low = [UInt64](repeating: 0, count: slots)
        var high = [UInt64](repeating: 0, count: slots)
        var maxLength = 0
        for word in words {
            let bytes = Array(word.utf8)
            guard !bytes.isEmpty, bytes.count <= 16 else { continue }
            maxLength = max(maxLength, bytes.count)
            let (lo, hi) = bytes.withUnsafeBufferPointer { buffer in
                Self.pack(buffer.baseAddress, count: buffer.count)
            }
            var slot = Self.slot(lo, hi, shift: UInt64(64 - slotBits))
            while low[slot] != 0 {
                if low[slot] == lo && high[slot] == hi { break }
                slot = (slot + 1) & (slots - 1)
            }
            low[slot] = lo
            high[slot] = hi
        }
        self.low = low
        self.high = high
        self.shift = UInt64(64 - slotBits)
        self.mask = slots - 1
        self.maxLength = maxLength
    }

    /// Whether the `count` bytes at `bytes` (already lower-case) spell a stop word.
    @inline(__always)
    func contains(_ bytes: UnsafePointer<UInt8>, count: Int) -> Bool {
        guard count > 0, count <= maxLength else { return false }
        let (lo, hi) = Self.pack(bytes, count: count)
        var slot = Self.slot(lo, hi, shift: shift)
        // The table is at most ~40% full, so an empty slot always ends the probe.
        while true {
            let stored = low[slot]
            if stored == 0 { return false }
            if stored == lo && high[slot] == hi { return true }
            slot = (slot + 1) & mask
        }
    }

    @inline(__always)
    private static func pack(_ bytes: UnsafePointer<UInt8>?, count: Int) -> (UInt64, UInt64) {
        guard let bytes else { return (0, 0) }
        var lo: UInt64 = 0
        var hi: UInt64 = 0
        for index in 0..<min(count, 8) {
            lo |= UInt64(bytes[index]) << UInt64(8 * index)
        }
        if count > 8 {
            for index in 8..<min(count, 16) {
                hi |= UInt64(bytes[index]) << UInt64(8 * (index - 8))
            }
        }
        return (lo, hi)
    }

    @inline(__always)
    private static func slot(_ lo: UInt64, _ hi: UInt64, shift: UInt64) -> Int {
        let hash = (lo &* 0x9E37_79B9_7F4A_7C15) ^ (hi &* 0xC2B2_AE3D_27D4_EB4F)
        return Int(truncatingIfNeeded: hash >> shift)
    }
}
