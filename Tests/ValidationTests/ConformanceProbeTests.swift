import AsyncHTTPClient
import Foundation
import Testing
@testable import Validation

/// The A2A 1.0 and MCP conformance checks against a real `ares serve` (which must keep every
/// MUST its card claims) and against one broken on purpose.
@Suite struct ConformanceProbeTests {
    private func describe(_ report: ProbeReport) -> String {
        report.failures.map { "\($0.id) [\($0.outcome.rawValue)] \($0.detail.prefix(300))" }.joined(separator: "\n")
    }

    @Test func aresKeepsEveryMustItsCardClaims() async throws {
        let server = try await ProbeAresServer.start()
        let report = try await withProbeClient { client in
            await ConformanceProbe(target: ValidationTarget(baseURL: server.baseURL, credential: .apiKey(server.adminKey)), client: client).run()
        }
        recordForLeakCheck(report, name: "conformance-ares")
        #expect(report.passed, "failures:\n\(describe(report))")
        let ids = Set(report.checks.map(\.id))
        // ares's card claims streaming, push notifications, the extended card and HTTP+JSON:
        // each claim's checks ran.
        for id in ["a2a.card.fetch", "a2a.card.required-fields", "a2a.card.jsonrpc-interface", "a2a.jsonrpc.parse-error", "a2a.jsonrpc.invalid-request",
                   "a2a.jsonrpc.method-not-found", "a2a.jsonrpc.invalid-params", "a2a.jsonrpc.id-echo", "a2a.jsonrpc.notification",
                   "a2a.jsonrpc.response-object", "a2a.version.unsupported", "a2a.send-message", "a2a.get-task", "a2a.get-task.unknown",
                   "a2a.cancel-task.ended", "a2a.list-tasks", "a2a.streaming.send", "a2a.streaming.subscribe", "a2a.push.config-lifecycle",
                   "a2a.extended-card", "a2a.rest.send-message", "a2a.rest.get-task", "a2a.rest.get-task.unknown", "a2a.rest.list-tasks",
                   "a2a.rest.cancel-ended", "mcp.initialize", "mcp.initialized-notification", "mcp.tools-list", "mcp.tools-call-search",
                   "mcp.unknown-method"] {
            #expect(ids.contains(id), "no check \(id)")
        }
        #expect(!report.checks.contains { $0.detail.contains(server.adminKey) })
    }

    @Test func aWrongCodeForAnUnknownMethodIsAViolation() async throws {
        let server = try await ProbeAresServer.start()
        let report = try await withProbeClient { client in
            let proxy = try await ProbeFaultProxy(upstream: server.baseURL, fault: .wrongCodeForUnknownMethod, client: client)
            return try await withFaultProxy(proxy) {
                await ConformanceProbe(target: ValidationTarget(baseURL: proxy.baseURL, credential: .apiKey(server.adminKey)), client: client).run()
            }
        }
        recordForLeakCheck(report, name: "conformance-broken")
        let failed = Dictionary(uniqueKeysWithValues: report.failures.map { ($0.id, $0.outcome) })
        #expect(failed == ["a2a.jsonrpc.method-not-found": .violation, "mcp.unknown-method": .violation], "failures:\n\(describe(report))")
        #expect(report.checks.first { $0.id == "a2a.jsonrpc.method-not-found" }?.detail.contains("expected error -32601") == true)
    }
}
