import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Resilience
import ResearchCore
import Testing
@testable import Agents

/// The LLM-backed synthesizer against a fake chat endpoint on loopback.
@Suite struct LanguageModelSynthesizerTests {
    final class FakeChatEndpoint: @unchecked Sendable {
        let process = Process()
        let key = UUID().uuidString
        let baseURL: URL

        init(mode: String) throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fake_chat_server.py")
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script.path, key, mode]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            var line = Data()
            while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line.append(byte) }
            guard let port = Int(String(decoding: line, as: UTF8.self)), let url = URL(string: "http://127.0.0.1:\(port)/v1") else {
                throw LanguageModelError.transport("the fake chat server did not start")
            }
            baseURL = url
        }

        deinit {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        func client() -> OpenAIChatClient {
            OpenAIChatClient(configuration: OpenAIChatConfiguration(
                baseURL: baseURL, model: "fake", apiKey: key, requestTimeout: .seconds(5),
                retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(5))))
        }
    }

    let plan = ResearchPlan(subQuestions: [
        SubQuestion(id: "sq1", text: "when is WAL flushed", queries: ["WAL"]),
        SubQuestion(id: "sq2", text: "what does VACUUM reclaim", queries: ["VACUUM"]),
    ])
    var evidence: [String: [Evidence]] {
        let wal = Passage(chunkId: "c1", source: "wal.html", title: "WAL", headingPath: [],
                          text: "WAL records are flushed to disk before the data pages change.", start: 0, end: 61)
        let vacuum = Passage(chunkId: "c2", source: "vacuum.html", title: "VACUUM", headingPath: [],
                             text: "VACUUM reclaims storage occupied by dead tuples.", start: 0, end: 48)
        return ["sq1": [Evidence(subQuestionID: "sq1", sentence: wal.text, passage: wal, start: 0, end: 61, score: 0.9)],
                "sq2": [Evidence(subQuestionID: "sq2", sentence: vacuum.text, passage: vacuum, start: 0, end: 48, score: 0.8)]]
    }

    @Test func theModelWritesTheReportAndTheCheckerDropsWhatItInvented() async throws {
        let endpoint = try FakeChatEndpoint(mode: "good")
        let report = try await LanguageModelSynthesizer(model: endpoint.client()).synthesize(question: "WAL and VACUUM?", plan: plan, evidence: evidence)
        #expect(report.notes == ["written by openai-compatible:fake@127.0.0.1"])
        #expect(report.sections.map(\.citations) == [[1], [2]])
        #expect(report.sections[0].text.contains("cheese"))
        let (verified, check) = try await QuotationCitationChecker().verify(report)
        #expect(check.flagged == ["The moon is made of cheese."])
        #expect(!verified.markdown.contains("cheese"))
        #expect(verified.markdown.contains("> Note: written by openai-compatible:fake"))
    }

    @Test func anUnavailableModelFallsBackToTheBuiltInSynthesizerAndSaysSo() async throws {
        let endpoint = try FakeChatEndpoint(mode: "down")
        let synthesizer = LanguageModelSynthesizer(model: endpoint.client())
        let report = try await synthesizer.synthesize(question: "WAL and VACUUM?", plan: plan, evidence: evidence)
        #expect(report.notes.first?.contains("the language model was unavailable") == true)
        #expect(report.notes.first?.contains("503") == true)
        #expect(report.citations.count == 2)
        #expect(report.markdown.contains("> Note: the language model was unavailable"))
        // After repeated failures the circuit opens: the next report falls back at once.
        _ = try await synthesizer.synthesize(question: "again", plan: plan, evidence: evidence)
        _ = try await synthesizer.synthesize(question: "again", plan: plan, evidence: evidence)
        let fast = try await synthesizer.synthesize(question: "again", plan: plan, evidence: evidence)
        #expect(fast.notes.first?.contains("circuit open") == true)
    }

    @Test func aWrongKeyIsReportedNotRetriedForever() async throws {
        let endpoint = try FakeChatEndpoint(mode: "good")
        let client = OpenAIChatClient(configuration: OpenAIChatConfiguration(baseURL: endpoint.baseURL, model: "fake", apiKey: "wrong"))
        await #expect { _ = try await client.complete([.user("hi")], maxTokens: 10) } throws: { "\($0)".contains("401") }
    }

    @Test func theModelPlansAndAFailingModelFallsBackToTheHeuristicPlan() async throws {
        let good = try FakeChatEndpoint(mode: "good")
        let plan = try await LanguageModelPlanner(model: good.client()).plan(question: "What is WAL and how does VACUUM work?")
        #expect(plan.subQuestions.map(\.text) == ["What is WAL?", "how does VACUUM work?"])
        #expect(plan.subQuestions[0].queries == ["What is WAL?", "what is wal", "postgresql what is wal"])
        let down = try FakeChatEndpoint(mode: "down")
        let fallback = try await LanguageModelPlanner(model: down.client()).plan(question: "What is WAL and how does VACUUM work?")
        #expect(fallback == (try await HeuristicPlanner().plan(question: "What is WAL and how does VACUUM work?")))
    }
}
