import Foundation
import NIOCore
import Synchronization
import Testing
@testable import Validation

/// The generator against local servers whose behaviour is known: a fixed latency must show at
/// the median, a one-second stall must show in the high percentiles (no coordinated omission),
/// and requests without a free slot must be counted, not dropped.
@Suite(.serialized) struct OpenLoopGeneratorTests {
    private func get(_ http: LoadHTTPClient, _ url: String) async -> RequestResult {
        let answer = await http.get(url)
        return RequestResult(kind: "get", outcome: answer.failure ?? JSONRPCReplyClassifier.classify(status: answer.status))
    }

    @Test func aServerWithAFixedLatencyShowsItAtTheMedian() async throws {
        // The server answers /slow after 20 ms and /fast at once; the generator alternates them.
        // What any answer costs here (loopback, HTTP on both sides, the scheduler; about a
        // millisecond in a debug build, more on a busy machine) is the same for both kinds
        // because they interleave, so the generator must report /slow exactly 20 ms above /fast
        // at the median, within 1 ms, however loaded the machine is.
        let server = try await TestHTTPServer { request in .init(delay: request.uri == "/slow" ? .milliseconds(20) : .zero) }
        let client = LoadHTTPClient.makeClient(connections: 64)
        let http = LoadHTTPClient(client: client, timeout: .seconds(10))
        let base = server.baseURL.absoluteString
        let measurement = await OpenLoopGenerator(rate: 200, duration: .seconds(2), maximumInFlight: 64)
            .run(kind: { $0 % 2 == 0 ? "slow" : "fast" }, execute: { index in
                let kind = index % 2 == 0 ? "slow" : "fast"
                let answer = await http.get(base + "/" + kind)
                return RequestResult(kind: kind, outcome: answer.failure ?? JSONRPCReplyClassifier.classify(status: answer.status))
            })
        try await client.shutdown()
        await server.stop()
        #expect(measurement.scheduled == 400)
        #expect(measurement.ok == 400, "outcomes: \(measurement.outcomes)")
        let slow = try #require(measurement.latencyByKind["slow"]), fast = try #require(measurement.latencyByKind["fast"])
        #expect(abs(slow.p50 - fast.p50 - 20) <= 1,
                "p50 /slow \(slow.p50) ms, /fast \(fast.p50) ms: the difference must be the server's 20 ms (send lag p50 \(measurement.sendLag.p50) ms)")
        #expect(slow.p50 >= 20)
    }

    @Test func aOneSecondStallShowsInTheHighPercentiles() async throws {
        // The server answers in 1 ms, except that every request arriving between 1 s and 2 s
        // after the first one is held until 2 s. Open loop at 200 req/s, the ~200 requests due
        // during the stall wait from 1 s down to 0: about a sixth of all requests take over
        // 500 ms. A closed-loop tool would have sent (and counted) just one request per
        // connection during the stall and reported a clean p90.
        let first = Mutex<ContinuousClock.Instant?>(nil)
        let server = try await TestHTTPServer { request in
            let start = first.withLock { first in
                if first == nil { first = request.arrival }
                return first ?? request.arrival
            }
            let stallStart = start + .seconds(1), stallEnd = start + .seconds(2)
            if request.arrival >= stallStart, request.arrival < stallEnd {
                return .init(delay: stallEnd - request.arrival)
            }
            return .init(delay: .milliseconds(1))
        }
        let client = LoadHTTPClient.makeClient(connections: 512)
        let http = LoadHTTPClient(client: client, timeout: .seconds(10))
        let url = server.baseURL.absoluteString + "/"
        let measurement = await OpenLoopGenerator(rate: 200, duration: .seconds(3), maximumInFlight: 512)
            .run(kind: { _ in "get" }, execute: { _ in await get(http, url) })
        try await client.shutdown()
        await server.stop()
        #expect(measurement.ok == 600, "outcomes: \(measurement.outcomes)")
        #expect(measurement.count(.unsent) == 0)
        #expect(measurement.latency.p90 > 400, "p90 \(measurement.latency.p90) ms: the requests due during the stall must count their wait")
        #expect(measurement.latency.max > 850, "max \(measurement.latency.max) ms: the first request of the stall waited a second")
        // The stall is visible in the time windows too: some window's p99 is near a second.
        #expect(measurement.windows.contains { $0.latency.p99 > 850 })
    }

    @Test func requestsWithoutAFreeSlotAreCountedAsUnsent() async throws {
        let server = try await TestHTTPServer { _ in .init(delay: .seconds(2)) }
        let client = LoadHTTPClient.makeClient(connections: 4)
        let http = LoadHTTPClient(client: client, timeout: .seconds(10))
        let url = server.baseURL.absoluteString + "/"
        let measurement = await OpenLoopGenerator(rate: 50, duration: .seconds(1), maximumInFlight: 4, sendDeadline: .milliseconds(100))
            .run(kind: { _ in "get" }, execute: { _ in await get(http, url) })
        try await client.shutdown()
        await server.stop()
        // 4 slots, each busy for two seconds: the first 4 requests are sent, the other 46 find
        // no slot within 100 ms of their due time. Every one of the 50 is accounted for.
        #expect(measurement.total == 50)
        #expect(measurement.ok == 4)
        #expect(measurement.count(.unsent) == 46)
        #expect(measurement.errorRate > 0.9)
    }

    @Test func failuresAreClassified() async throws {
        let counter = Atomic<Int>(0)
        let server = try await TestHTTPServer { _ in
            let (_, n) = counter.wrappingAdd(1, ordering: .relaxed)
            switch n % 4 {
            case 0: return .init(status: .internalServerError)
            case 1: return .init(status: .tooManyRequests)
            case 2: return .init(status: .badRequest)
            default: return .init()
            }
        }
        let client = LoadHTTPClient.makeClient(connections: 1)
        let http = LoadHTTPClient(client: client, timeout: .seconds(10))
        let url = server.baseURL.absoluteString + "/"
        // One slot: requests go one after another, so the server sees them in order.
        let measurement = await OpenLoopGenerator(rate: 40, duration: .seconds(1), maximumInFlight: 1, sendDeadline: .seconds(5))
            .run(kind: { _ in "get" }, execute: { _ in await get(http, url) })
        try await client.shutdown()
        await server.stop()
        #expect(measurement.count(.serverError) == 10)
        #expect(measurement.count(.rateLimited) == 10)
        #expect(measurement.count(.clientError) == 10)
        #expect(measurement.ok == 10)

        // Nothing listens on a closed port: connection errors, not a crash or a hang.
        let closed = LoadHTTPClient.makeClient(connections: 4)
        let refused = await LoadHTTPClient(client: closed, timeout: .seconds(5)).get("http://127.0.0.1:\(server.port)/")
        try await closed.shutdown()
        #expect(refused.failure == .connectionError)
    }

    @Test func aSlowAnswerIsATimeout() async throws {
        let server = try await TestHTTPServer { _ in .init(delay: .seconds(3)) }
        let client = LoadHTTPClient.makeClient(connections: 4)
        let answer = await LoadHTTPClient(client: client, timeout: .milliseconds(300)).get(server.baseURL.absoluteString + "/")
        try await client.shutdown()
        await server.stop()
        #expect(answer.failure == .timeout)
    }
}
