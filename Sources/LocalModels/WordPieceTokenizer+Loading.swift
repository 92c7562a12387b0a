import Foundation

extension WordPieceTokenizer {
    /// The parts of a `tokenizer.json` that say how BERT's tokenizer is set up. Pipelines
    /// other than BERT's (another normalizer, pre-tokenizer or model) are refused: their ids
    /// would differ from the reference's.
    struct File: Decodable {
        struct AddedToken: Decodable {
            let content: String
        }
        struct Normalizer: Decodable {
            let type: String
            let cleanText: Bool?
            let handleChineseChars: Bool?
            let stripAccents: Bool?
            let lowercase: Bool?
            enum CodingKeys: String, CodingKey {
                case type, lowercase
                case cleanText = "clean_text", handleChineseChars = "handle_chinese_chars", stripAccents = "strip_accents"
            }
        }
        struct Component: Decodable {
            let type: String
        }
        struct Model: Decodable {
            let type: String?
            let unkToken: String?
            let continuingSubwordPrefix: String?
            let maxInputCharsPerWord: Int?
            let vocab: [String: Int]?
            enum CodingKeys: String, CodingKey {
                case type, vocab
                case unkToken = "unk_token", continuingSubwordPrefix = "continuing_subword_prefix", maxInputCharsPerWord = "max_input_chars_per_word"
            }
        }
        let addedTokens: [AddedToken]?
        let normalizer: Normalizer?
        let preTokenizer: Component?
        let postProcessor: Component?
        let model: Model
        enum CodingKeys: String, CodingKey {
            case normalizer, model
            case addedTokens = "added_tokens", preTokenizer = "pre_tokenizer", postProcessor = "post_processor"
        }
    }

    /// `tokenizer_config.json`, for folders that have only `vocab.txt` (the slow tokenizer's files).
    struct LegacyConfiguration: Decodable {
        let doLowerCase: Bool?
        let stripAccents: Bool?
        let tokenizeChineseChars: Bool?
        enum CodingKeys: String, CodingKey {
            case doLowerCase = "do_lower_case", stripAccents = "strip_accents", tokenizeChineseChars = "tokenize_chinese_chars"
        }
    }

    /// The tokenizer of a model folder: settings from `tokenizer.json` (else
    /// `tokenizer_config.json`, else BERT's uncased defaults), the vocabulary from `vocab.txt`
    /// (one token per line, its line number the id), else from `tokenizer.json`.
    public static func load(directory: URL, maximumLength: Int) throws(LocalModelError) -> WordPieceTokenizer {
        let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
        let vocabularyURL = directory.appendingPathComponent("vocab.txt")
        var normalizer = BertTextNormalizer()
        var unknownToken = "[UNK]", prefix = "##", maximumCharacters = 100
        var addedTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        var vocabularyEntries: [(token: String, id: Int)]?
        if ModelFiles.exists(tokenizerURL) {
            let file = try ModelFiles.decode(File.self, from: tokenizerURL, what: "the tokenizer (tokenizer.json)")
            let path = tokenizerURL.path
            if let model = file.model.type, model != "WordPiece" {
                throw LocalModelError(file: path, "unsupported tokenizer model \"\(model)\" (only BERT's WordPiece)")
            }
            if let preTokenizer = file.preTokenizer?.type, preTokenizer != "BertPreTokenizer" {
                throw LocalModelError(file: path, "unsupported pre_tokenizer \"\(preTokenizer)\" (only BertPreTokenizer)")
            }
            if let postProcessor = file.postProcessor?.type, postProcessor != "TemplateProcessing", postProcessor != "BertProcessing" {
                throw LocalModelError(file: path, "unsupported post_processor \"\(postProcessor)\" (only BERT's [CLS] … [SEP] framing)")
            }
            if let settings = file.normalizer {
                guard settings.type == "BertNormalizer" else {
                    throw LocalModelError(file: path, "unsupported normalizer \"\(settings.type)\" (only BertNormalizer)")
                }
                let lowercase = settings.lowercase ?? true
                normalizer = BertTextNormalizer(cleanText: settings.cleanText ?? true, handleChineseCharacters: settings.handleChineseChars ?? true,
                                                // strip_accents null means: strip when lowercasing.
                                                stripAccents: settings.stripAccents ?? lowercase, lowercase: lowercase)
            }
            unknownToken = file.model.unkToken ?? unknownToken
            prefix = file.model.continuingSubwordPrefix ?? prefix
            maximumCharacters = file.model.maxInputCharsPerWord ?? maximumCharacters
            if let added = file.addedTokens { addedTokens = added.map(\.content) }
            vocabularyEntries = file.model.vocab.map { $0.map { (token: $0.key, id: $0.value) } }
        } else {
            let configurationURL = directory.appendingPathComponent("tokenizer_config.json")
            if ModelFiles.exists(configurationURL) {
                let settings = try ModelFiles.decode(LegacyConfiguration.self, from: configurationURL, what: "the tokenizer configuration (tokenizer_config.json)")
                let lowercase = settings.doLowerCase ?? true
                normalizer = BertTextNormalizer(handleChineseCharacters: settings.tokenizeChineseChars ?? true,
                                                stripAccents: settings.stripAccents ?? lowercase, lowercase: lowercase)
            }
        }
        if ModelFiles.exists(vocabularyURL) {
            vocabularyEntries = try readVocabularyLines(vocabularyURL)
        }
        guard let entries = vocabularyEntries, !entries.isEmpty else {
            throw LocalModelError(file: directory.path, "missing the vocabulary: neither vocab.txt nor a WordPiece vocab in tokenizer.json")
        }
        let vocabulary = WordPieceVocabulary(entries: entries, continuationPrefix: prefix)
        do {
            return try WordPieceTokenizer(normalizer: normalizer, vocabulary: vocabulary, unknownToken: unknownToken,
                                          maximumCharactersPerWord: maximumCharacters, addedTokens: addedTokens, maximumLength: maximumLength)
        } catch {
            throw LocalModelError(file: directory.path, error.problem)
        }
    }

    /// vocab.txt: token N on line N (from 0), trailing whitespace dropped, as the reference reads it.
    static func readVocabularyLines(_ url: URL) throws(LocalModelError) -> [(token: String, id: Int)] {
        let data = try ModelFiles.contents(of: url, what: "the vocabulary (vocab.txt)")
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines.enumerated().map { index, line in
            var scalars = line.unicodeScalars
            while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
            var token = ""
            token.unicodeScalars.append(contentsOf: scalars)
            return (token, index)
        }
    }
}
