/// A WordPiece vocabulary as two prefix trees over Unicode scalars: one of every token (looked
/// up at the start of a word) and one of the continuation tokens without their `##` prefix
/// (looked up inside a word). The longest vocabulary entry at a position is one walk down a
/// tree, which is what the reference's greedy "shrink the end until the piece is known" loop
/// finds, in linear instead of quadratic time.
///
/// Keys are scalars, not `String`s: Swift compares strings by canonical equivalence, so two
/// tokens that differ only in composition would collide as dictionary keys; the reference
/// compares bytes.
public struct WordPieceVocabulary: Sendable {
    /// Child of (node, scalar): the key packs the node index above the 21 bits of the scalar.
    private var children: [UInt64: Int32] = [:]
    /// The token id that ends at each node, or -1.
    private var tokenAtNode: [Int32] = [-1, -1]
    private static let wordRoot: Int32 = 0
    private static let continuationRoot: Int32 = 1

    public let continuationPrefix: [Unicode.Scalar]
    /// Every token by id (ids not named by any entry are empty).
    public private(set) var tokens: [String] = []
    /// The ids of whole tokens, for special tokens such as `[CLS]`.
    private var idsByToken: [[Unicode.Scalar]: Int32] = [:]

    public var count: Int { tokens.count }

    /// A vocabulary of `(token, id)` pairs; a later pair for the same token wins, as in the
    /// reference. Ids must be in `0..<Int32.max`.
    public init(entries: [(token: String, id: Int)], continuationPrefix: String = "##") {
        self.continuationPrefix = Array(continuationPrefix.unicodeScalars)
        let largest = entries.reduce(-1) { max($0, $1.id) }
        tokens = Array(repeating: "", count: max(0, largest + 1))
        for (token, id) in entries where id >= 0 && id < Int(Int32.max) {
            let scalars = Array(token.unicodeScalars)
            tokens[id] = token
            idsByToken[scalars] = Int32(id)
            insert(scalars[...], root: Self.wordRoot, id: Int32(id))
            if !self.continuationPrefix.isEmpty, scalars.starts(with: self.continuationPrefix) {
                insert(scalars[self.continuationPrefix.count...], root: Self.continuationRoot, id: Int32(id))
            }
        }
    }

    private mutating func insert(_ scalars: ArraySlice<Unicode.Scalar>, root: Int32, id: Int32) {
        var node = root
        for scalar in scalars {
            let key = UInt64(node) << 21 | UInt64(scalar.value)
            if let child = children[key] {
                node = child
            } else {
                let child = Int32(tokenAtNode.count)
                tokenAtNode.append(-1)
                children[key] = child
                node = child
            }
        }
        tokenAtNode[Int(node)] = id
    }

    /// The id of the token spelled exactly `token`.
    public func id(of token: String) -> Int32? {
        idsByToken[Array(token.unicodeScalars)]
    }

    /// The longest token that spells `word[start...]`'s beginning — a continuation token
    /// unless `start` is the word's start — as its id and the index just after it.
    func longestMatch(in word: ArraySlice<Unicode.Scalar>, from start: Int) -> (id: Int32, end: Int)? {
        var node = start == word.startIndex ? Self.wordRoot : Self.continuationRoot
        var best: (id: Int32, end: Int)?
        var index = start
        while index < word.endIndex {
            guard let child = children[UInt64(node) << 21 | UInt64(word[index].value)] else { break }
            node = child
            index += 1
            let id = tokenAtNode[Int(node)]
            if id >= 0 { best = (id, index) }
        }
        return best
    }
}
