import Foundation

/// The weights of a BERT encoder, read from a safetensors file and checked tensor by tensor
/// against the shapes the configuration implies. Linear layers keep PyTorch's layout
/// (`[out, in]`, row-major); the query, key and value projections are stacked into one
/// `[3·hidden, hidden]` matrix so that they are one matrix product.
public struct BertWeights: Sendable {
    public struct Layer: Sendable {
        let queryKeyValueWeight: [Float]
        let queryKeyValueBias: [Float]
        let attentionOutputWeight: [Float]
        let attentionOutputBias: [Float]
        let attentionNormWeight: [Float]
        let attentionNormBias: [Float]
        let intermediateWeight: [Float]
        let intermediateBias: [Float]
        let outputWeight: [Float]
        let outputBias: [Float]
        let outputNormWeight: [Float]
        let outputNormBias: [Float]
    }

    public let configuration: BertConfiguration
    let wordEmbeddings: [Float]
    let positionEmbeddings: [Float]
    let tokenTypeEmbeddings: [Float]
    let embeddingNormWeight: [Float]
    let embeddingNormBias: [Float]
    let layers: [Layer]

    /// Reads every tensor the encoder needs. Checkpoints saved from a task model name them
    /// under `bert.`; both spellings are accepted. Extra tensors (the pooler, position ids)
    /// are ignored.
    public init(file: SafeTensorsFile, configuration: BertConfiguration) throws(LocalModelError) {
        self.configuration = configuration
        let prefix = file.tensors["embeddings.word_embeddings.weight"] == nil && file.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        let hidden = configuration.hiddenSize, intermediate = configuration.intermediateSize
        func tensor(_ name: String, _ shape: [Int]) throws(LocalModelError) -> [Float] {
            try file.floats(prefix + name, shape: shape)
        }
        wordEmbeddings = try tensor("embeddings.word_embeddings.weight", [configuration.vocabularySize, hidden])
        positionEmbeddings = try tensor("embeddings.position_embeddings.weight", [configuration.maximumPositions, hidden])
        tokenTypeEmbeddings = try tensor("embeddings.token_type_embeddings.weight", [configuration.tokenTypeCount, hidden])
        embeddingNormWeight = try tensor("embeddings.LayerNorm.weight", [hidden])
        embeddingNormBias = try tensor("embeddings.LayerNorm.bias", [hidden])
        var layers: [Layer] = []
        for index in 0..<configuration.layerCount {
            let name = "encoder.layer.\(index)."
            let query = try tensor(name + "attention.self.query.weight", [hidden, hidden])
            let key = try tensor(name + "attention.self.key.weight", [hidden, hidden])
            let value = try tensor(name + "attention.self.value.weight", [hidden, hidden])
            let queryBias = try tensor(name + "attention.self.query.bias", [hidden])
            let keyBias = try tensor(name + "attention.self.key.bias", [hidden])
            let valueBias = try tensor(name + "attention.self.value.bias", [hidden])
            layers.append(Layer(
                queryKeyValueWeight: query + key + value,
                queryKeyValueBias: queryBias + keyBias + valueBias,
                attentionOutputWeight: try tensor(name + "attention.output.dense.weight", [hidden, hidden]),
                attentionOutputBias: try tensor(name + "attention.output.dense.bias", [hidden]),
                attentionNormWeight: try tensor(name + "attention.output.LayerNorm.weight", [hidden]),
                attentionNormBias: try tensor(name + "attention.output.LayerNorm.bias", [hidden]),
                intermediateWeight: try tensor(name + "intermediate.dense.weight", [intermediate, hidden]),
                intermediateBias: try tensor(name + "intermediate.dense.bias", [intermediate]),
                outputWeight: try tensor(name + "output.dense.weight", [hidden, intermediate]),
                outputBias: try tensor(name + "output.dense.bias", [hidden]),
                outputNormWeight: try tensor(name + "output.LayerNorm.weight", [hidden]),
                outputNormBias: try tensor(name + "output.LayerNorm.bias", [hidden])))
        }
        self.layers = layers
    }
}
