import Foundation

/// BERT's tokenizer, producing the ids Hugging Face's `tokenizers` produces for the same
/// `tokenizer.json`: special tokens written in the text (`[SEP]`) are matched first, on the raw
/// text; the rest is normalized (`BertTextNormalizer`), split at whitespace and around each
/// punctuation character, and each word is split greedily into the longest vocabulary pieces
/// (continuations prefixed `##`); a word longer than `maximumCharactersPerWord` scalars, or one
/// with a part no piece spells, becomes `[UNK]`. The ids are framed `[CLS] … [SEP]` and cut to
/// `maximumLength` (both included).
public struct WordPieceTokenizer: Sendable {
    public let normalizer: BertTextNormalizer
    public let vocabulary: WordPieceVocabulary
    public let unknownID: Int32
    public let classifierID: Int32
    public let separatorID: Int32
    public let maximumCharactersPerWord: Int
    /// Tokens matched in the raw text before normalization, longest first.
    let addedTokens: [(scalars: [Unicode.Scalar], id: Int32)]
    private let addedTokenStarts: Set<Unicode.Scalar>
    /// Ids per text, `[CLS]` and `[SEP]` included.
    public let maximumLength: Int

    public init(normalizer: BertTextNormalizer, vocabulary: WordPieceVocabulary, unknownToken: String = "[UNK]",
                classifierToken: String = "[CLS]", separatorToken: String = "[SEP]", maximumCharactersPerWord: Int = 100,
                addedTokens: [String] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], maximumLength: Int = 512) throws(LocalModelError) {
        func id(_ token: String) throws(LocalModelError) -> Int32 {
            guard let id = vocabulary.id(of: token) else {
                throw LocalModelError(file: "tokenizer", "the vocabulary has no \(token) token")
            }
            return id
        }
        self.normalizer = normalizer
        self.vocabulary = vocabulary
        unknownID = try id(unknownToken)
        classifierID = try id(classifierToken)
        separatorID = try id(separatorToken)
        self.maximumCharactersPerWord = max(1, maximumCharactersPerWord)
        var added: [(scalars: [Unicode.Scalar], id: Int32)] = []
        for token in addedTokens where !token.isEmpty {
            if let tokenID = vocabulary.id(of: token) { added.append((Array(token.unicodeScalars), tokenID)) }
        }
        self.addedTokens = added.sorted { $0.scalars.count > $1.scalars.count }
        addedTokenStarts = Set(added.compactMap(\.scalars.first))
        guard maximumLength >= 3 else {
            throw LocalModelError(file: "tokenizer", "the maximum sequence length \(maximumLength) leaves no room for a token between [CLS] and [SEP]")
        }
        self.maximumLength = maximumLength
    }

    /// The ids of `text`: `[CLS]`, at most `maximumLength - 2` pieces, `[SEP]`.
    public func encode(_ text: String) -> [Int32] {
        let budget = maximumLength - 2
        var pieces: [Int32] = []
        let scalars = Array(text.unicodeScalars)
        var segmentStart = 0
        var index = 0
        // Special tokens are found in the raw text, leftmost first and the longest there.
        while index < scalars.count, pieces.count < budget {
            if addedTokenStarts.contains(scalars[index]),
               let match = addedTokens.first(where: { scalars[index...].starts(with: $0.scalars) }) {
                appendPieces(of: scalars[segmentStart..<index], to: &pieces, budget: budget)
                if pieces.count < budget { pieces.append(match.id) }
                index += match.scalars.count
                segmentStart = index
            } else {
                index += 1
            }
        }
        if pieces.count < budget { appendPieces(of: scalars[segmentStart..<scalars.count], to: &pieces, budget: budget) }
        var ids: [Int32] = [classifierID]
        ids.reserveCapacity(min(pieces.count, budget) + 2)
        ids.append(contentsOf: pieces.prefix(budget))
        ids.append(separatorID)
        return ids
    }

    /// Normalizes one stretch of text between special tokens, splits it into words and the
    /// words into pieces, stopping once `budget` pieces are there.
    private func appendPieces(of text: ArraySlice<Unicode.Scalar>, to pieces: inout [Int32], budget: Int) {
        guard !text.isEmpty else { return }
        let normalized = normalizer.normalize(text)
        var wordStart = 0
        var index = 0
        while index < normalized.count, pieces.count < budget {
            let scalar = normalized[index]
            if scalar.properties.isWhitespace {
                appendWord(normalized[wordStart..<index], to: &pieces)
                wordStart = index + 1
            } else if Self.isPunctuation(scalar) {
                appendWord(normalized[wordStart..<index], to: &pieces)
                appendWord(normalized[index..<(index + 1)], to: &pieces)
                wordStart = index + 1
            }
            index += 1
        }
        if pieces.count < budget { appendWord(normalized[wordStart..<normalized.count], to: &pieces) }
    }

    private func appendWord(_ word: ArraySlice<Unicode.Scalar>, to pieces: inout [Int32]) {
        guard !word.isEmpty else { return }
        guard word.count <= maximumCharactersPerWord else {
            pieces.append(unknownID)
            return
        }
        let firstPiece = pieces.count
        var start = word.startIndex
        while start < word.endIndex {
            guard let match = vocabulary.longestMatch(in: word, from: start) else {
                // A part no piece spells: the whole word is unknown, not just that part.
                pieces.removeSubrange(firstPiece...)
                pieces.append(unknownID)
                return
            }
            pieces.append(match.id)
            start = match.end
        }
    }

    /// ASCII punctuation (which includes symbols such as `$`, `+`, `<`, `^`, `|`) or any
    /// character of a Unicode punctuation category, as BERT's pre-tokenizer splits.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 33...47, 58...64, 91...96, 123...126: return true
        case 0..<128: return false
        default:
            switch scalar.properties.generalCategory {
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
                 .initialPunctuation, .finalPunctuation, .otherPunctuation:
                return true
            default:
                return false
            }
        }
    }
}
