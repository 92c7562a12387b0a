import Foundation
import Testing
@testable import LocalModels

/// A model folder that cannot be used is refused with one line naming the file and what is
/// wrong: missing files, another architecture, shapes that do not match config.json, a
/// truncated weights file. The folders are copies of all-MiniLM-L6-v2 with one thing broken
/// (the weights linked, not copied, where they stay intact).
@Suite struct LocalModelFolderTests {
    /// A copy of the model folder; `change` edits it before loading.
    static func problem(_ change: (URL) throws -> Void) throws -> String? {
        let source = try LocalModelFixture.modelDirectory()
        let folder = try TemporaryDirectory()
        let manager = FileManager.default
        for name in try manager.contentsOfDirectory(atPath: source.path) {
            let from = source.appendingPathComponent(name), to = folder.url.appendingPathComponent(name)
            if name == "model.safetensors" {
                try manager.createSymbolicLink(at: to, withDestinationURL: from)
            } else {
                try manager.copyItem(at: from, to: to)
            }
        }
        try change(folder.url)
        do {
            _ = try LocalSentenceEmbedder.load(directory: folder.url)
            return nil
        } catch {
            // Paths are relative to the folder, so that the messages can be compared.
            return error.description.replacingOccurrences(of: folder.url.path + "/", with: "").replacingOccurrences(of: folder.url.path, with: "FOLDER")
        }
    }

    static func editJSON(_ url: URL, _ edit: (inout [String: Any]) -> Void) throws {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    static func remove(_ name: String) -> (URL) throws -> Void {
        { folder in try FileManager.default.removeItem(at: folder.appendingPathComponent(name)) }
    }

    @Test func theIntactCopyLoads() throws {
        #expect(try Self.problem { _ in } == nil)
    }

    @Test func missingFilesAreNamed() throws {
        #expect(try Self.problem(Self.remove("config.json")) == "config.json: missing the model configuration (config.json)")
        #expect(try Self.problem(Self.remove("model.safetensors")) == "model.safetensors: missing the weights (model.safetensors; pytorch_model.bin is not read)")
        #expect(try Self.problem { folder in
            try FileManager.default.removeItem(at: folder.appendingPathComponent("vocab.txt"))
            try FileManager.default.removeItem(at: folder.appendingPathComponent("tokenizer.json"))
        } == "FOLDER: missing the vocabulary: neither vocab.txt nor a WordPiece vocab in tokenizer.json")
        #expect(throws: LocalModelError.self) { try LocalSentenceEmbedder.load(directory: URL(fileURLWithPath: "/nonexistent/model")) }
    }

    @Test func anotherArchitectureIsRefused() throws {
        #expect(try Self.problem { folder in
            try Self.editJSON(folder.appendingPathComponent("config.json")) { $0["model_type"] = "llama" }
        } == #"config.json: unsupported architecture model_type "llama"; only BERT-family models (model_type "bert") are supported"#)
        #expect(try Self.problem { folder in
            try Self.editJSON(folder.appendingPathComponent("config.json")) { $0["hidden_act"] = "relu" }
        } == #"config.json: unsupported hidden_act "relu" (gelu, gelu_new or gelu_pytorch_tanh)"#)
        #expect(try Self.problem { folder in
            try Self.editJSON(folder.appendingPathComponent("tokenizer.json")) { $0["pre_tokenizer"] = ["type": "ByteLevel"] }
        } == #"tokenizer.json: unsupported pre_tokenizer "ByteLevel" (only BertPreTokenizer)"#)
        #expect(try Self.problem { folder in
            try Self.editJSON(folder.appendingPathComponent("1_Pooling/config.json")) { $0["pooling_mode_max_tokens"] = true }
        } == "1_Pooling/config.json: unsupported pooling pooling_mode_max_tokens (mean or CLS-token pooling)")
    }

    @Test func shapesAreCheckedAgainstConfigJSON() throws {
        #expect(try Self.problem { folder in
            try Self.editJSON(folder.appendingPathComponent("config.json")) { $0["hidden_size"] = 768 }
        } == "model.safetensors: tensor embeddings.word_embeddings.weight has shape [30522, 384], the model's config.json needs [30522, 768]")
        #expect(try Self.problem { folder in
            try Self.editJSON(folder.appendingPathComponent("config.json")) { $0["num_hidden_layers"] = 7 }
        } == "model.safetensors: missing tensor encoder.layer.6.attention.self.query.weight")
        #expect(try Self.problem { folder in
            try Self.editJSON(folder.appendingPathComponent("config.json")) { $0["intermediate_size"] = 1024 }
        } == "model.safetensors: tensor encoder.layer.0.intermediate.dense.weight has shape [1536, 384], the model's config.json needs [1024, 384]")
        #expect(try Self.problem { folder in
            try Self.editJSON(folder.appendingPathComponent("config.json")) { $0["num_attention_heads"] = 7 }
        } == "config.json: hidden_size 384 is not a multiple of num_attention_heads 7")
        #expect(try Self.problem { folder in
            try Self.editJSON(folder.appendingPathComponent("config.json")) { $0["vocab_size"] = 30000 }
        } == "FOLDER: the tokenizer has 30522 tokens, config.json's vocab_size is 30000")
        #expect(try Self.problem { folder in
            try Self.editJSON(folder.appendingPathComponent("config.json")) { $0["hidden_size"] = "384" }
        } == "config.json: the model configuration (config.json) is not what was expected: hidden_size is not Int")
    }

    @Test func aTruncatedWeightsFileIsNamed() throws {
        #expect(try Self.problem { folder in
            let weights = folder.appendingPathComponent("model.safetensors")
            let data = try Data(contentsOf: weights)
            try FileManager.default.removeItem(at: weights)
            try data.prefix(data.count - 1000).write(to: weights)
        } == "model.safetensors: truncated safetensors file: tensor pooler.dense.weight ends at data byte 90856960, the file holds 90855960 bytes of data")
    }
}
