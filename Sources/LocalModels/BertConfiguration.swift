import Foundation

/// The architecture a model's `config.json` declares, for the BERT family (BERT, MiniLM and the
/// sentence-transformers models built on them). Loading refuses any other architecture and any
/// size outside sane bounds, before a single weight is read.
public struct BertConfiguration: Sendable, Equatable {
    /// The activation of the feed-forward layers.
    public enum Activation: String, Sendable {
        /// The exact GELU, x·Φ(x) (Hugging Face's "gelu").
        case gelu
        /// The tanh approximation ("gelu_new", "gelu_pytorch_tanh").
        case geluTanh
    }

    public let hiddenSize: Int
    public let layerCount: Int
    public let headCount: Int
    public let intermediateSize: Int
    public let vocabularySize: Int
    public let maximumPositions: Int
    public let tokenTypeCount: Int
    public let layerNormEpsilon: Float
    public let activation: Activation

    public var headSize: Int { hiddenSize / headCount }

    /// The fields of config.json that are read; the others (dropout, initializer) do not
    /// matter for inference.
    struct File: Decodable {
        let modelType: String?
        let hiddenSize: Int
        let numHiddenLayers: Int
        let numAttentionHeads: Int
        let intermediateSize: Int
        let vocabSize: Int
        let maxPositionEmbeddings: Int
        let typeVocabSize: Int?
        let layerNormEps: Double?
        let hiddenAct: String?
        let positionEmbeddingType: String?

        enum CodingKeys: String, CodingKey {
            case modelType = "model_type", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
            case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size", vocabSize = "vocab_size"
            case maxPositionEmbeddings = "max_position_embeddings", typeVocabSize = "type_vocab_size"
            case layerNormEps = "layer_norm_eps", hiddenAct = "hidden_act", positionEmbeddingType = "position_embedding_type"
        }
    }

    public static func load(from url: URL) throws(LocalModelError) -> BertConfiguration {
        let file = try ModelFiles.decode(File.self, from: url, what: "the model configuration (config.json)")
        return try BertConfiguration(file, path: url.path)
    }

    init(_ file: File, path: String) throws(LocalModelError) {
        guard let modelType = file.modelType else {
            throw LocalModelError(file: path, "model_type is missing; only BERT-family models (model_type \"bert\") are supported")
        }
        guard modelType == "bert" else {
            throw LocalModelError(file: path, "unsupported architecture model_type \"\(modelType)\"; only BERT-family models (model_type \"bert\") are supported")
        }
        if let positions = file.positionEmbeddingType, positions != "absolute" {
            throw LocalModelError(file: path, "unsupported position_embedding_type \"\(positions)\" (only absolute)")
        }
        switch file.hiddenAct ?? "gelu" {
        case "gelu": activation = .gelu
        case "gelu_new", "gelu_pytorch_tanh": activation = .geluTanh
        case let other: throw LocalModelError(file: path, "unsupported hidden_act \"\(other)\" (gelu, gelu_new or gelu_pytorch_tanh)")
        }
        // Bounds well beyond any BERT-family model, so that hostile numbers cannot make
        // ares allocate absurd buffers or overflow a size computation.
        let bounds: [(String, Int, ClosedRange<Int>)] = [
            ("hidden_size", file.hiddenSize, 1...8192), ("num_hidden_layers", file.numHiddenLayers, 1...96),
            ("num_attention_heads", file.numAttentionHeads, 1...256), ("intermediate_size", file.intermediateSize, 1...65536),
            ("vocab_size", file.vocabSize, 1...1_000_000), ("max_position_embeddings", file.maxPositionEmbeddings, 2...16384),
            ("type_vocab_size", file.typeVocabSize ?? 2, 1...16),
        ]
        for (name, value, range) in bounds where !range.contains(value) {
            throw LocalModelError(file: path, "\(name) is \(value), outside \(range.lowerBound)...\(range.upperBound)")
        }
        guard file.hiddenSize % file.numAttentionHeads == 0 else {
            throw LocalModelError(file: path, "hidden_size \(file.hiddenSize) is not a multiple of num_attention_heads \(file.numAttentionHeads)")
        }
        let epsilon = file.layerNormEps ?? 1e-12
        guard epsilon.isFinite, epsilon > 0, epsilon < 1 else {
            throw LocalModelError(file: path, "layer_norm_eps \(epsilon) is not a small positive number")
        }
        hiddenSize = file.hiddenSize
        layerCount = file.numHiddenLayers
        headCount = file.numAttentionHeads
        intermediateSize = file.intermediateSize
        vocabularySize = file.vocabSize
        maximumPositions = file.maxPositionEmbeddings
        tokenTypeCount = file.typeVocabSize ?? 2
        layerNormEpsilon = Float(epsilon)
    }
}
