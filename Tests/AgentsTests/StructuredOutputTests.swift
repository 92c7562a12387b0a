import Foundation
import Resilience
import ResearchCore
import Synchronization
import Testing
@testable import Agents

/// Structured output: each LLM-backed agent sends the JSON schema of the answer it expects
/// (`response_format` of type `json_schema`), so that a server with constrained decoding
/// (llama.cpp, vLLM, Ollama, OpenAI's strict mode) makes even a small model answer in shape.
/// The request bodies are read directly, and whole tasks run against the fake endpoint in its
/// "strict" mode, which refuses a request without the right schema and checks its own replies
/// against the schema it was sent (Fixtures/fake_chat_server.py).
@Suite struct StructuredOutputTests {
    typealias Endpoint = LanguageModelSynthesizerTests.FakeChatEndpoint

    static let retrieval = LanguageModelAgentsTests.retrieval
    static let question = "When are WAL records flushed to disk and what does VACUUM reclaim?"

    static func client(_ endpoint: Endpoint, structuredOutput: OpenAIChatConfiguration.StructuredOutput = .jsonSchema) -> OpenAIChatClient {
        OpenAIChatClient(configuration: OpenAIChatConfiguration(
            baseURL: endpoint.baseURL, model: "fake", apiKey: endpoint.key, requestTimeout: .seconds(5),
            retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(5)), structuredOutput: structuredOutput))
    }

    static func object(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    // MARK: Request bodies

    @Test func theRequestCarriesTheAgentsSchemaAsAStrictJSONSchemaResponseFormat() throws {
        let client = OpenAIChatClient(configuration: OpenAIChatConfiguration(baseURL: URL(fileURLWithPath: "/"), model: "gemma", temperature: 0))
        let shape = LanguageModelResearcher(model: client, fallback: Self.retrieval).answerShape(passageCount: 3)
        let data = try client.requestBody([.system("pick"), .user("passages")], maxTokens: 321, shape: shape)
        let body = try Self.object(data)
        #expect(body["model"] as? String == "gemma" && body["max_tokens"] as? Int == 321 && body["temperature"] as? Double == 0)
        #expect((body["messages"] as? [[String: String]])?.map { $0["role"] } == ["system", "user"])
        let format = try #require(body["response_format"] as? [String: Any])
        #expect(format["type"] as? String == "json_schema")
        let named = try #require(format["json_schema"] as? [String: Any])
        #expect(named["name"] as? String == "researcher" && named["strict"] as? Bool == true)
        let schema = try #require(named["schema"] as? [String: Any])
        #expect(schema["type"] as? String == "object" && schema["required"] as? [String] == ["evidence"])
        #expect(schema["additionalProperties"] as? Bool == false)
        let evidence = try #require((schema["properties"] as? [String: Any])?["evidence"] as? [String: Any])
        #expect(evidence["type"] as? String == "array" && evidence["maxItems"] as? Int == 6 && evidence["minItems"] == nil)
        let item = try #require(evidence["items"] as? [String: Any])
        #expect(item["required"] as? [String] == ["passage", "sentence", "relevance"])
        let properties = try #require(item["properties"] as? [String: [String: Any]])
        #expect(properties["passage"]?["type"] as? String == "integer")
        #expect(properties["passage"]?["minimum"] as? Int == 1 && properties["passage"]?["maximum"] as? Int == 3)
        #expect(properties["relevance"]?["type"] as? String == "number" && properties["relevance"]?["maximum"] as? Double == 1)
        // Grammar-based servers generate properties in the order sent: the passage number first.
        let text = String(decoding: data, as: UTF8.self)
        let positions = ["\"passage\":{", "\"sentence\":{", "\"relevance\":{"].compactMap { text.range(of: $0)?.lowerBound }
        #expect(positions.count == 3 && positions == positions.sorted(), "properties keep their declared order: \(text)")
    }

    @Test func withoutStructuredOutputOrWithoutAShapeTheRequestHasNoResponseFormat() throws {
        let base = URL(fileURLWithPath: "/")
        let shape = LanguageModelPlanner(model: OpenAIChatClient(configuration: OpenAIChatConfiguration(baseURL: base, model: "m"))).answerShape
        let off = OpenAIChatClient(configuration: OpenAIChatConfiguration(baseURL: base, model: "m", structuredOutput: .none))
        let plain = try Self.object(off.requestBody([.user("q")], maxTokens: 10, shape: shape))
        #expect(plain["response_format"] == nil && plain["max_tokens"] as? Int == 10 && plain["model"] as? String == "m")
        let on = OpenAIChatClient(configuration: OpenAIChatConfiguration(baseURL: base, model: "m"))
        #expect(try Self.object(on.requestBody([.user("q")], maxTokens: 10, shape: nil))["response_format"] == nil)
        #expect(try Self.object(on.requestBody([.user("q")], maxTokens: 10, shape: shape))["response_format"] != nil)
    }

    /// A minimal value that fits `schema`, as a constrained decoder could produce it.
    static func sample(_ schema: JSONSchema) -> Any {
        switch schema {
        case let .object(properties): Dictionary(uniqueKeysWithValues: properties.map { ($0.name, sample($0.schema)) })
        case let .array(items, minItems, _): Array(repeating: sample(items), count: max(minItems ?? 1, 1))
        case .string: "a quoted sentence here"
        case let .enumeration(values): values.first ?? ""
        case let .number(minimum, maximum): minimum ?? maximum ?? 0.5
        case let .integer(minimum, maximum): minimum ?? maximum ?? 1
        case .boolean: true
        }
    }

    /// Every object requires all its properties and forbids others (OpenAI's strict mode).
    static func isStrict(_ schema: JSONSchema) -> Bool {
        switch schema {
        case let .object(properties): !properties.isEmpty && properties.allSatisfy { isStrict($0.schema) }
        case let .array(items, _, _): isStrict(items)
        default: true
        }
    }

    @Test func everyAgentsSchemaDescribesTheAnswerItDecodes() throws {
        let model = OpenAIChatClient(configuration: OpenAIChatConfiguration(baseURL: URL(fileURLWithPath: "/"), model: "m"))
        let subQuestions = [SubQuestion(id: "sq1", text: "a", queries: ["a"]), SubQuestion(id: "sq2", text: "b", queries: ["b"])]
        let shapes: [(AnswerShape, (Data) throws -> Void)] = [
            (LanguageModelPlanner(model: model, maximumSubQuestions: 4).answerShape,
             { _ = try JSONDecoder().decode(LanguageModelPlanner.ModelPlan.self, from: $0) }),
            (LanguageModelResearcher(model: model, fallback: Self.retrieval).answerShape(passageCount: 5),
             { _ = try JSONDecoder().decode(LanguageModelResearcher.ModelEvidence.self, from: $0) }),
            (LanguageModelEvaluator.answerShape(for: subQuestions),
             { _ = try JSONDecoder().decode(LanguageModelEvaluator.ModelCritique.self, from: $0) }),
            (LanguageModelSynthesizer.answerShape(for: ResearchPlan(subQuestions: subQuestions)),
             { _ = try JSONDecoder().decode(LanguageModelSynthesizer.ModelReport.self, from: $0) }),
            (LanguageModelCitationChecker.answerShape(claimCount: 3),
             { _ = try JSONDecoder().decode(LanguageModelCitationChecker.ModelVerdicts.self, from: $0) }),
        ]
        #expect(shapes.map(\.0.name) == ["planner", "researcher", "evaluator", "synthesizer", "citation_checker"])
        for (shape, decode) in shapes {
            #expect(Self.isStrict(shape.schema), "\(shape.name)")
            #expect(shape.name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
            #expect(throws: Never.self, "\(shape.name): \(shape.schema.jsonText)") {
                _ = try JSONSerialization.jsonObject(with: Data(shape.schema.jsonText.utf8))
            }
            let data = try JSONSerialization.data(withJSONObject: Self.sample(shape.schema))
            #expect(throws: Never.self, "\(shape.name): \(String(decoding: data, as: UTF8.self))") { try decode(data) }
        }
        // The bounds follow the request: the evaluator names exactly the sub-questions judged,
        // the checker gives exactly one verdict per claim.
        #expect(LanguageModelEvaluator.answerShape(for: subQuestions).schema == .object([
            ("subQuestions", .array(items: .object([("id", .enumeration(["sq1", "sq2"])), ("coverage", .number(minimum: 0, maximum: 1)),
                                                    ("queries", .array(items: .string, minItems: nil, maxItems: 3))]),
                                    minItems: 2, maxItems: 2)),
        ]))
        #expect(LanguageModelCitationChecker.answerShape(claimCount: 3).schema == .object([
            ("verdicts", .array(items: .object([("claim", .integer(minimum: 1, maximum: 3)), ("supported", .boolean)]), minItems: 3, maxItems: 3)),
        ]))
    }

    // MARK: Against a server that enforces the schema

    func run(_ model: OpenAIChatClient) async throws -> TaskState {
        let workflow = ResearchWorkflow(agents: ResearchAgents(
            planner: LanguageModelPlanner(model: model), researcher: LanguageModelResearcher(model: model, fallback: Self.retrieval),
            evaluator: LanguageModelEvaluator(model: model), synthesizer: LanguageModelSynthesizer(model: model),
            checker: LanguageModelCitationChecker(model: model)))
        let events = Mutex<[TaskEvent]>([.submitted(question: Self.question, principal: nil)])
        return try await workflow.run(from: try TaskState.fold(events.withLock { $0 })) { event in events.withLock { $0.append(event) } }
    }

    @Test func everyAgentSendsItsSchemaAndAnswersInShapeSoNoneFallsBack() async throws {
        let endpoint = try Endpoint(mode: "strict")
        let model = Self.client(endpoint)
        let final = try await run(model)
        #expect(final.phase == .completed)
        #expect(final.plan?.subQuestions.map(\.text) == ["When are WAL records flushed to disk?", "what does VACUUM reclaim?"],
                "the model's plan, not the heuristic one")
        let report = try #require(final.report)
        #expect(report.notes.contains("evidence chosen by openai-compatible:fake@127.0.0.1"))
        #expect(report.notes.contains("coverage judged by openai-compatible:fake@127.0.0.1"))
        #expect(report.notes.contains("written by openai-compatible:fake@127.0.0.1"))
        #expect(report.notes.contains { $0.hasPrefix("citations also checked by") })
        #expect(!report.notes.contains { $0.contains("could not") || $0.contains("unavailable") }, "\(report.notes)")
        let usage = model.meter.snapshot()
        for agent in ["planner", "researcher", "evaluator", "synthesizer", "citation_checker"] {
            let entry = try #require(usage[agent], "no calls recorded for \(agent)")
            #expect(entry.calls >= 1 && entry.failedCalls == 0 && entry.fallbacks.isEmpty, "\(agent): \(entry)")
            #expect(entry.promptTokens > 0 && entry.completionTokens > 0 && entry.latencies.count == entry.calls, "\(agent): \(entry)")
        }
        #expect(usage["researcher"]?.calls == 2, "one researcher call per sub-question")
    }

    @Test func anEndpointThatRejectsTheRequestMakesEveryAgentFallBackAndTheUsageSaysWhy() async throws {
        let endpoint = try Endpoint(mode: "strict")
        let model = Self.client(endpoint, structuredOutput: .none)
        let final = try await run(model)
        #expect(final.phase == .completed, "the built-in agents finish the task")
        let usage = model.meter.snapshot()
        #expect(usage["planner"]?.fallbacks == ["HTTP 400": 1] && usage["planner"]?.failedCalls == 1)
        for agent in ["planner", "researcher", "evaluator", "synthesizer", "citation_checker"] {
            let entry = try #require(usage[agent], "no fallback recorded for \(agent)")
            #expect(entry.calls == 0 && entry.fallbackCount >= 1, "\(agent): \(entry)")
            // After three failures the circuit opens, and later agents fall back without a call.
            #expect(Set(entry.fallbacks.keys).isSubset(of: ["HTTP 400", "circuit open"]), "\(agent): \(entry.fallbacks)")
        }
        #expect(final.report?.notes.contains { $0.contains("the built-in extractive synthesizer wrote this report") } == true)
    }

    @Test func aReplyCutOffAtMaxTokensIsAFallbackThatSaysSoAndLeavesTheCircuitClosed() async throws {
        let endpoint = try Endpoint(mode: "truncated")
        let model = Self.client(endpoint)
        let planner = LanguageModelPlanner(model: model)
        for _ in 0..<4 {
            let plan = try await planner.plan(question: Self.question)
            #expect(plan == (try await HeuristicPlanner().plan(question: Self.question)))
        }
        let entry = try #require(model.meter.snapshot()["planner"])
        #expect(entry.calls == 4 && entry.failedCalls == 0, "the endpoint answered every time: \(entry)")
        #expect(entry.fallbacks == ["the reply was cut off at max_tokens (N)": 4])
        #expect(model.breaker.state == .closed, "a reply that is too long is no sign of a broken endpoint")
    }

    @Test func fallbackReasonsGroupByCause() {
        #expect(LanguageModelUsage.reason(for: LanguageModelError.http(status: 503, body: "x")) == "HTTP 503")
        #expect(LanguageModelUsage.reason(for: LanguageModelError.transport("refused")) == "transport error")
        #expect(LanguageModelUsage.reason(for: LanguageModelError.malformedResponse("none of the 12 quoted sentence(s) occurs in its passage"))
                == "none of the N quoted sentence(s) occurs in its passage")
        #expect(LanguageModelUsage.reason(for: LanguageModelError.malformedResponse("the reply's JSON does not have the expected shape: keyNotFound"))
                == "the reply's JSON does not have the expected shape")
        #expect(LanguageModelUsage.reason(for: TimeoutError(limit: .seconds(1), operation: "chat")) == "timeout")
        let usage = LanguageModelUsage(latencyWindow: 2)
        for seconds in [1.0, 2, 3] { usage.recordCall(agent: "a", seconds: seconds, promptTokens: Int.max, completionTokens: -5) }
        let entry = usage.snapshot()["a"]
        #expect(entry?.latencies == [2, 3] && entry?.calls == 3, "only the latest latencies are kept")
        #expect(entry?.promptTokens == Int.max && entry?.completionTokens == 0, "endpoint-reported counts saturate, never trap")
    }
}
