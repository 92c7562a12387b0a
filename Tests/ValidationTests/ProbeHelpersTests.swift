import Foundation
import Testing
@testable import Validation

/// The pieces the probes judge with: event-stream parsing, verdicts and redaction.
@Suite struct ProbeHelpersTests {
    @Test func eventStreamsAreSplitIntoTheirDataPayloads() {
        var parser = ProbeEventStreamParser()
        var events = parser.feed(Data(": keep-alive\n\ndata: {\"a\":1}\r\n\nevent: message\ndata: line one\n".utf8))
        events += parser.feed(Data("data: line two\n\ndata: {\"tail\"".utf8))
        events += parser.feed(Data(":true}".utf8))
        events += parser.finish()
        #expect(events.map { String(decoding: $0, as: UTF8.self) } == ["{\"a\":1}", "line one\nline two", "{\"tail\":true}"])
    }

    @Test func answersAreJudgedAsRefusalsBypassesOrServerErrors() {
        func reply(_ status: Int, _ body: String) -> Result<ProbeHTTP.Reply, ProbeHTTP.Failure> {
            .success(ProbeHTTP.Reply(status: status, headers: ["content-type": "application/json"], body: Data(body.utf8)))
        }
        #expect(ProbeVerdict.ofRefusal(reply(401, #"{"error":"no"}"#)).outcome == .passed)
        #expect(ProbeVerdict.ofRefusal(reply(200, #"{"jsonrpc":"2.0","id":1,"error":{"code":-32041,"message":"no"}}"#)).outcome == .passed)
        #expect(ProbeVerdict.ofRefusal(reply(200, #"{"jsonrpc":"2.0","id":1,"result":{"isError":true}}"#)).outcome == .passed)
        #expect(ProbeVerdict.ofRefusal(reply(200, #"{"jsonrpc":"2.0","id":1,"result":{}}"#)).outcome == .bypass)
        #expect(ProbeVerdict.ofRefusal(reply(200, #"{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"boom"}}"#)).outcome == .serverError)
        #expect(ProbeVerdict.ofRefusal(reply(502, "bad gateway")).outcome == .serverError)
        #expect(ProbeVerdict.ofRefusal(.failure(ProbeHTTP.Failure(description: "closed"))).outcome == .serverError)
        #expect(ProbeVerdict.ofAnswer(reply(200, #"{"jsonrpc":"2.0","id":1,"result":{}}"#)).outcome == .passed)
        let mixed = ProbeVerdict.combine([("a", .refused("ok")), ("b", .serverError("500")), ("c", .accepted("200"))])
        #expect(mixed.outcome == .bypass && mixed.detail.contains("b: 500"))
    }

    @Test func credentialsNeverReachADetail() {
        let key = "ares_0123456789ab_" + String(repeating: "s3cr3t", count: 6)
        let jwt = SecurityAttacks.jwt(header: ["alg": "HS256"], claims: ["sub": "x", "exp": 1], signed: true)
        let redaction = ProbeRedaction(secrets: ["operator-token-value-123"])
        let text = redaction.apply("echo \(key) and \(jwt) and operator-token-value-123 end")
        #expect(!text.contains(key) && !text.contains(jwt) && !text.contains("operator-token-value-123"))
        #expect(text.hasPrefix("echo [credential] and [credential] and [credential] end"))
    }
}
