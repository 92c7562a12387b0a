import BinaryCoding
import Foundation
import Knowledge

/// A sentence-transformers model (BERT family) run inside ares: `--embedder local` with the
/// model's folder as published on Hugging Face (config.json, tokenizer.json or vocab.txt,
/// model.safetensors, 1_Pooling/config.json, sentence_bert_config.json).
///
/// Texts are tokenized by the calling task; the encoder runs in one actor, so concurrent
/// callers (ingest and searches of a server) take turns instead of competing for the cores
/// with their own BLAS threads, and a long ingest batch is cut into chunks between which the
/// actor lets queued query embeddings through and notices cancellation.
public struct LocalSentenceEmbedder: Embedder {
    public let identity: String
    public let dimension: Int
    public let tokenizer: WordPieceTokenizer
    private let runner: Runner

    /// Tokens per forward pass: bounds the working memory (about 40 KB per token for MiniLM)
    /// and the time a query waits behind an ingest batch.
    public static let tokensPerChunk = 4096

    /// Loads the model in `directory`. Every file is checked before use; a missing or broken
    /// one ends in a `LocalModelError` naming it.
    /// `quantization` int8 quantizes the linear layers once, here (about 0.2 s for MiniLM);
    /// the identity then says so, since its vectors differ slightly from float32's.
    public static func load(directory: URL, quantization: EmbeddingQuantization = .none) throws(LocalModelError) -> LocalSentenceEmbedder {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw LocalModelError(file: directory.path, "not a model folder (it does not exist or is not a directory)")
        }
        let configuration = try BertConfiguration.load(from: directory.appendingPathComponent("config.json"))
        let pooling = try SentencePooling.load(directory: directory, maximumPositions: configuration.maximumPositions)
        let tokenizer = try WordPieceTokenizer.load(directory: directory, maximumLength: pooling.maximumSequenceLength)
        guard tokenizer.vocabulary.count <= configuration.vocabularySize else {
            throw LocalModelError(file: directory.path, "the tokenizer has \(tokenizer.vocabulary.count) tokens, config.json's vocab_size is \(configuration.vocabularySize)")
        }
        let weightsURL = directory.appendingPathComponent("model.safetensors")
        guard ModelFiles.exists(weightsURL) else {
            throw LocalModelError(file: weightsURL.path, "missing the weights (model.safetensors; pytorch_model.bin is not read)")
        }
        let file = try SafeTensorsFile(contentsOf: weightsURL)
        let weights = try BertWeights(file: file, configuration: configuration)
        return LocalSentenceEmbedder(
            identity: try identity(directory: directory, configuration: configuration, pooling: pooling, quantization: quantization),
            dimension: configuration.hiddenSize, tokenizer: tokenizer,
            runner: Runner(encoder: BertEncoder(weights: weights, pooling: pooling.mode, quantization: quantization)))
    }

    /// The identity the model in `directory` gives its vectors, without loading its weights
    /// (`ares models list` shows it, so that a user can tell which knowledge base it fits).
    public static func identity(directory: URL, quantization: EmbeddingQuantization = .none) throws(LocalModelError) -> String {
        let configuration = try BertConfiguration.load(from: directory.appendingPathComponent("config.json"))
        let pooling = try SentencePooling.load(directory: directory, maximumPositions: configuration.maximumPositions)
        return try identity(directory: directory, configuration: configuration, pooling: pooling, quantization: quantization)
    }

    private static func identity(directory: URL, configuration: BertConfiguration, pooling: SentencePooling,
                                 quantization: EmbeddingQuantization) throws(LocalModelError) -> String {
        let fingerprint = try Self.fingerprint(of: directory, files: ["config.json", "model.safetensors", "tokenizer.json", "vocab.txt"])
        let quantized = quantization == .none ? "" : "-\(quantization.rawValue)"
        return "local-\(directory.lastPathComponent)-\(pooling.mode.rawValue)-t\(pooling.maximumSequenceLength)-d\(configuration.hiddenSize)\(quantized)-\(fingerprint)"
    }

    private init(identity: String, dimension: Int, tokenizer: WordPieceTokenizer, runner: Runner) {
        self.identity = identity
        self.dimension = dimension
        self.tokenizer = tokenizer
        self.runner = runner
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        try await embed(tokenized: texts.map(tokenizer.encode))
    }

    /// Vectors of texts already tokenized with `tokenizer`.
    public func embed(tokenized sequences: [[Int32]]) async throws -> [[Float]] {
        var vectors: [[Float]] = []
        vectors.reserveCapacity(sequences.count)
        var start = 0
        while start < sequences.count {
            try Task.checkCancellation()
            var end = start
            var tokens = 0
            while end < sequences.count, end == start || tokens + sequences[end].count <= Self.tokensPerChunk {
                tokens += sequences[end].count
                end += 1
            }
            vectors += await runner.encode(Array(sequences[start..<end]))
            start = end
        }
        return vectors
    }

    /// Changes when the weights, configuration or vocabulary change, so that the knowledge
    /// base re-embeds instead of mixing vectors of two models (XXH64 of the files: not a
    /// security measure, only an identity).
    private static func fingerprint(of directory: URL, files: [String]) throws(LocalModelError) -> String {
        var combined: UInt64 = 0
        for name in files {
            let url = directory.appendingPathComponent(name)
            guard ModelFiles.exists(url) else { continue }
            let data: Data
            do { data = try Data(contentsOf: url) } catch {
                throw LocalModelError(file: url.path, "cannot read it (\(ModelFiles.describe(error)))")
            }
            combined = data.withUnsafeBytes { XXH64.hash($0, seed: combined) }
        }
        let hex = String(combined, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex
    }

    /// Runs the encoder, one batch at a time.
    actor Runner {
        let encoder: BertEncoder

        init(encoder: BertEncoder) {
            self.encoder = encoder
        }

        func encode(_ sequences: [[Int32]]) -> [[Float]] {
            encoder.encode(sequences)
        }
    }
}
