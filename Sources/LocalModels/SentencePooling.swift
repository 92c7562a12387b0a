import Foundation

/// How a sentence-transformers model turns its token vectors into one sentence vector, and
/// how many tokens it reads: `1_Pooling/config.json` (or the folder modules.json names for
/// the Pooling module) and `sentence_bert_config.json`'s max_seq_length.
public struct SentencePooling: Sendable, Equatable {
    public enum Mode: String, Sendable {
        /// The mean of the token vectors (padding excluded).
        case mean
        /// The `[CLS]` token's vector.
        case classifierToken
    }

    public let mode: Mode
    /// Tokens per text, `[CLS]` and `[SEP]` included.
    public let maximumSequenceLength: Int

    struct PoolingFile: Decodable {
        let poolingModeMeanTokens: Bool?
        let poolingModeClsToken: Bool?
        let poolingModeMaxTokens: Bool?
        let poolingModeMeanSqrtLenTokens: Bool?
        let poolingModeWeightedmeanTokens: Bool?
        let poolingModeLasttoken: Bool?
        enum CodingKeys: String, CodingKey {
            case poolingModeMeanTokens = "pooling_mode_mean_tokens", poolingModeClsToken = "pooling_mode_cls_token"
            case poolingModeMaxTokens = "pooling_mode_max_tokens", poolingModeMeanSqrtLenTokens = "pooling_mode_mean_sqrt_len_tokens"
            case poolingModeWeightedmeanTokens = "pooling_mode_weightedmean_tokens", poolingModeLasttoken = "pooling_mode_lasttoken"
        }
    }

    struct ModuleEntry: Decodable {
        let path: String
        let type: String
    }

    struct SentenceBertFile: Decodable {
        let maxSeqLength: Int?
        enum CodingKeys: String, CodingKey { case maxSeqLength = "max_seq_length" }
    }

    public init(mode: Mode, maximumSequenceLength: Int) {
        self.mode = mode
        self.maximumSequenceLength = maximumSequenceLength
    }

    /// Reads the pooling of the model in `directory`, whose encoder has `maximumPositions`
    /// positions. A folder without pooling files is treated as mean pooling, the
    /// sentence-transformers default.
    public static func load(directory: URL, maximumPositions: Int) throws(LocalModelError) -> SentencePooling {
        var poolingFolder = "1_Pooling"
        let modulesURL = directory.appendingPathComponent("modules.json")
        if ModelFiles.exists(modulesURL) {
            let modules = try ModelFiles.decode([ModuleEntry].self, from: modulesURL, what: "the module list (modules.json)")
            if let pooling = modules.first(where: { $0.type.hasSuffix(".Pooling") }) {
                // A path inside the model folder only: modules.json must not point ares elsewhere.
                guard !pooling.path.contains(".."), !pooling.path.hasPrefix("/") else {
                    throw LocalModelError(file: modulesURL.path, "the Pooling module's path \"\(pooling.path)\" leaves the model folder")
                }
                poolingFolder = pooling.path
            }
        }
        var mode = Mode.mean
        let poolingURL = directory.appendingPathComponent(poolingFolder).appendingPathComponent("config.json")
        if ModelFiles.exists(poolingURL) {
            let file = try ModelFiles.decode(PoolingFile.self, from: poolingURL, what: "the pooling configuration")
            let unsupported = [("pooling_mode_max_tokens", file.poolingModeMaxTokens), ("pooling_mode_mean_sqrt_len_tokens", file.poolingModeMeanSqrtLenTokens),
                               ("pooling_mode_weightedmean_tokens", file.poolingModeWeightedmeanTokens), ("pooling_mode_lasttoken", file.poolingModeLasttoken)]
            if let (name, _) = unsupported.first(where: { $0.1 == true }) {
                throw LocalModelError(file: poolingURL.path, "unsupported pooling \(name) (mean or CLS-token pooling)")
            }
            switch (file.poolingModeMeanTokens ?? false, file.poolingModeClsToken ?? false) {
            case (true, false): mode = .mean
            case (false, true): mode = .classifierToken
            case (true, true): throw LocalModelError(file: poolingURL.path, "combined mean and CLS-token pooling is not supported (one of them)")
            case (false, false): throw LocalModelError(file: poolingURL.path, "names no pooling mode (mean or CLS-token pooling)")
            }
        }
        var length = maximumPositions
        let sentenceBertURL = directory.appendingPathComponent("sentence_bert_config.json")
        if ModelFiles.exists(sentenceBertURL) {
            let file = try ModelFiles.decode(SentenceBertFile.self, from: sentenceBertURL, what: "the sentence-transformers configuration")
            if let maximum = file.maxSeqLength {
                guard maximum >= 3 else {
                    throw LocalModelError(file: sentenceBertURL.path, "max_seq_length \(maximum) leaves no room for a token between [CLS] and [SEP]")
                }
                // The position table bounds it; sentence-transformers cuts it the same way.
                length = min(maximum, maximumPositions)
            }
        }
        return SentencePooling(mode: mode, maximumSequenceLength: length)
    }
}
