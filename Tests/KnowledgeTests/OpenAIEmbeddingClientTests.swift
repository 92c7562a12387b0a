import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Resilience
import Testing
@testable import Knowledge

/// The OpenAI-compatible embeddings client against a fake endpoint on loopback.
@Suite struct OpenAIEmbeddingClientTests {
    /// Starts the fake server (a Python script in Fixtures) and returns its base URL.
    final class FakeEndpoint: @unchecked Sendable {
        let process = Process()
        let baseURL: URL
        let key = UUID().uuidString

        init(failFirst: Int = 0) throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fake_embeddings_server.py")
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script.path, key, String(failFirst)]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            var line = Data()
            while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
                line.append(byte)
            }
            guard let port = Int(String(decoding: line, as: UTF8.self)) else {
                throw KnowledgeBaseError.invalidArgument("the fake embeddings server did not start")
            }
            baseURL = URL(string: "http://127.0.0.1:\(port)/v1")!
        }

        deinit {
            // SIGKILL: the test runner may leave SIGTERM ignored, and children inherit that.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        func configuration(key: String? = nil, retry: RetryPolicy = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(10))) -> OpenAIEmbeddingConfiguration {
            OpenAIEmbeddingConfiguration(baseURL: baseURL, model: "fake-model", apiKey: key ?? self.key,
                                         requestTimeout: .seconds(5), batchSize: 2, retry: retry)
        }
    }

    @Test func embedsInInputOrderAcrossBatchesWithUnitVectors() async throws {
        let endpoint = try FakeEndpoint()
        let client = try await OpenAIEmbeddingClient.connect(endpoint.configuration())
        #expect(client.dimension == 8)
        #expect(client.identity.contains("fake-model"))
        let vectors = try await client.embed(["aaaa", "bbbb", "hhhh"])
        #expect(vectors.count == 3)
        #expect(vectors[0][0] > 0.99)
        #expect(vectors[1][1] > 0.99)
        #expect(vectors[2][7] > 0.99)
    }

    @Test func retriesServerErrorsThenSucceeds() async throws {
        let endpoint = try FakeEndpoint(failFirst: 2)
        let client = try await OpenAIEmbeddingClient.connect(endpoint.configuration())
        #expect(client.dimension == 8)
    }

    @Test func givesUpOnClientErrorsWithTheServersMessage() async throws {
        let endpoint = try FakeEndpoint()
        await #expect {
            _ = try await OpenAIEmbeddingClient.connect(endpoint.configuration(key: "wrong-key"))
        } throws: { error in
            "\(error)".contains("401") && "\(error)".contains("invalid api key")
        }
        let client = try await OpenAIEmbeddingClient.connect(endpoint.configuration())
        await #expect {
            _ = try await client.embed(["BAD-REQUEST please"])
        } throws: { error in
            "\(error)".contains("400")
        }
    }

    @Test func anUnreachableEndpointFailsAfterItsRetries() async throws {
        let configuration = OpenAIEmbeddingConfiguration(
            baseURL: URL(string: "http://127.0.0.1:9/v1")!, model: "none",
            requestTimeout: .seconds(2), retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(5)))
        await #expect {
            _ = try await OpenAIEmbeddingClient.connect(configuration)
        } throws: { error in
            "\(error)".contains("could not reach the embeddings endpoint")
        }
    }

    @Test func followsARedirectOnTheSameHostOnly() async throws {
        let endpoint = try FakeEndpoint()
        func configuration(_ prefix: String) -> OpenAIEmbeddingConfiguration {
            var configuration = endpoint.configuration(retry: RetryPolicy(maxAttempts: 1))
            // Time enough to stream 17 MiB on a starved machine (120 s once was not, in a main run beside
            // a build): the size limit must be what stops it.
            configuration.requestTimeout = .seconds(600)
            configuration.baseURL = URL(string: endpoint.baseURL.absoluteString.replacingOccurrences(of: "/v1", with: "/\(prefix)/v1"))!
            return configuration
        }
        let client = try await OpenAIEmbeddingClient.connect(configuration("same-host"))
        #expect(client.dimension == 8)
        // Another host would receive the API key: the redirect is an error, not followed.
        await #expect {
            _ = try await OpenAIEmbeddingClient.connect(configuration("other-host"))
        } throws: { error in
            "\(error)".contains("307") && "\(error)".contains("not followed")
        }
    }

    @Test func refusesAnswersLargerThanTheLimit() async throws {
        let endpoint = try FakeEndpoint()
        for prefix in ["huge-declared", "huge-streamed"] {
            var configuration = endpoint.configuration(retry: RetryPolicy(maxAttempts: 1))
            // Time enough to stream 17 MiB on a starved machine (120 s once was not, in a main run beside
            // a build): the size limit must be what stops it.
            configuration.requestTimeout = .seconds(600)
            configuration.baseURL = URL(string: endpoint.baseURL.absoluteString.replacingOccurrences(of: "/v1", with: "/\(prefix)/v1"))!
            await #expect {
                _ = try await OpenAIEmbeddingClient.connect(configuration)
            } throws: { error in
                "\(error)".contains("larger than \(16 << 20) bytes")
            }
        }
    }

    @Test func retryPolicyBacksOffExponentiallyWithinItsCap() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(100), maxDelay: .milliseconds(350))
        #expect(policy.backoffCap(forRetry: 1) == .milliseconds(100))
        #expect(policy.backoffCap(forRetry: 2) == .milliseconds(200))
        #expect(policy.backoffCap(forRetry: 3) == .milliseconds(350))
    }
}
