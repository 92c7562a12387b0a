import AresTestSupport
import Crypto
import Foundation
import Testing

/// Traces reach an OTLP/HTTP collector: request spans continue the caller's W3C trace
/// context; each task step is a span in the task's own trace.
@Suite struct TracingTests {
    @Test func spansOfRequestsAndTaskStepsReachTheCollector() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let key = try await ServerProcess.createKey(role: "researcher", in: data)
        // Kept with the run's outputs when it records them: span attributes are searched for secrets too.
        let received = TestRunRecord.logFile(named: "otlp-\(UUID().uuidString).jsonl", fallback: data.appendingPathComponent("otlp.jsonl"))
        let collector = Process()
        collector.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        collector.arguments = ["python3", URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fake_otlp_collector.py").path, received.path]
        let portPipe = Pipe()
        collector.standardOutput = portPipe
        try collector.run()
        defer { kill(collector.processIdentifier, SIGKILL); collector.waitUntilExit() }
        let portLine = String(decoding: portPipe.fileHandleForReading.availableData, as: UTF8.self)
        let collectorPort = try #require(Int(portLine.trimmingCharacters(in: .whitespacesAndNewlines)))

        let server = try await ServerProcess(dataDirectory: data, arguments: ["--otlp-endpoint", "http://127.0.0.1:\(collectorPort)"])
        let traceID = "4bf92f3577b34da6a3ce929d0e0e4736", parentSpan = "00f067aa0ba902b7"
        let body = try JSONSerialization.data(withJSONObject: [
            "jsonrpc": "2.0", "id": 7, "method": "SendMessage",
            "params": ["message": ["messageId": "t-1", "role": "ROLE_USER", "parts": [["text": "How are tasks resumed?"]]]],
        ])
        let reply = try await server.request("POST", "/a2a", body: body, headers: [
            "Content-Type": "application/json", "A2A-Version": "1.0", "Authorization": "Bearer \(key)",
            "traceparent": "00-\(traceID)-\(parentSpan)-01", "tracestate": "congo=t61rcWkgMzE",
        ])
        let taskID = try #require(value(try reply.json(), "result", "task", "id") as? String)
        // The reply can leave before the last step's span is recorded (on PostgreSQL the step
        // reaches the tracer through the task directory a moment later), and spans are exported
        // in batches once a second: wait until the last step's span has arrived (a deadline for
        // a loaded machine, not a bound under test), then stop the server, which flushes the rest.
        let deadline = ContinuousClock.now + .seconds(30)
        while try !Self.spans(in: received).contains(where: { $0["name"] as? String == "ares.step TaskCompleted" }),
              ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        await #expect(server.terminate() == 0)

        let spans = try Self.spans(in: received)
        let send = try #require(spans.first { $0["name"] as? String == "SendMessage" }, "no SendMessage span among \(spans.map { $0["name"] ?? "" })")
        #expect(send["traceId"] as? String == traceID)
        #expect(send["parentSpanId"] as? String == parentSpan)
        #expect(send["kind"] as? Int == 2)
        #expect(send["traceState"] as? String == "congo=t61rcWkgMzE")
        let taskTrace = SHA256.hash(data: Data(taskID.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
        let steps = spans.filter { $0["traceId"] as? String == taskTrace }
        let names = Set(steps.compactMap { $0["name"] as? String })
        #expect(names.isSuperset(of: ["ares.task", "ares.step TaskPlanned", "ares.step ReportSynthesized", "ares.step TaskCompleted"]))
        let root = try #require(steps.first { $0["name"] as? String == "ares.task" })
        // A trace id chosen before any span exists is one swift-otel's tracer takes only from
        // a parent: the root span continues the task's derived trace context, whose parent span
        // id (the next 8 bytes of the task id's SHA-256) no exported span carries.
        let taskParent = SHA256.hash(data: Data(taskID.utf8)).dropFirst(16).prefix(8).map { String(format: "%02x", $0) }.joined()
        #expect(root["parentSpanId"] as? String == taskParent)
        #expect(!steps.contains { $0["spanId"] as? String == taskParent })
        for step in steps where step["name"] as? String != "ares.task" {
            #expect(step["parentSpanId"] as? String == root["spanId"] as? String)
            let start = UInt64(step["startTimeUnixNano"] as? String ?? "") ?? 0
            let end = UInt64(step["endTimeUnixNano"] as? String ?? "") ?? 0
            #expect(start > 0 && end >= start)
        }
    }

    /// Every span the collector has written so far (one export request per line; a line still
    /// being written, without its newline yet, is left for the next read).
    static func spans(in file: URL) throws -> [[String: Any]] {
        var spans: [[String: Any]] = []
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        let complete = text.hasSuffix("\n") ? Substring(text) : text[..<(text.lastIndex(of: "\n") ?? text.startIndex)]
        for line in complete.split(separator: "\n") {
            let request = try JSONSerialization.jsonObject(with: Data(line.utf8))
            #expect(value(request, "resourceSpans", "0", "resource", "attributes", "0", "value", "stringValue") as? String == "ares")
            spans += value(request, "resourceSpans", "0", "scopeSpans", "0", "spans") as? [[String: Any]] ?? []
        }
        return spans
    }
}
