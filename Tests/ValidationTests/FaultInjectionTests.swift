import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
@testable import Validation

/// The fault-injecting proxy in front of the synthetic model endpoint, and the filesystem made
/// for the disk-full part.
@Suite struct FaultInjectionTests {
    @Test func theProxyForwardsAddsLatencyAndFailsEverythingDuringAnOutage() async throws {
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        do {
            let synthetic = try await LoopbackHTTPServer(handler: SyntheticModelEndpoint.handler)
            let proxy = FaultInjectingProxy(upstream: synthetic.baseURL, client: client)
            let front = try await LoopbackHTTPServer(handler: proxy.handler)
            try await synthetic.whileServing {
                try await front.whileServing {
                    func complete() async throws -> (status: UInt, body: String, seconds: Double) {
                        var request = HTTPClientRequest(url: front.baseURL.absoluteString + "/v1/chat/completions")
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#))
                        let clock = ContinuousClock()
                        let start = clock.now
                        let response = try await client.execute(request, timeout: .seconds(30))
                        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
                        let elapsed = (clock.now - start).components
                        return (response.status.code, body, Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)
                    }
                    let plain = try await complete()
                    #expect(plain.status == 200)
                    #expect(plain.body.contains("\"choices\""))

                    proxy.fault = .latency(milliseconds: 150)
                    let slow = try await complete()
                    #expect(slow.status == 200)
                    // A lower bound only: the proxy waits at least this long before forwarding.
                    #expect(slow.seconds >= 0.15)

                    proxy.fault = .outage
                    let down = try await complete()
                    #expect(down.status == 503)
                    #expect(proxy.counts == .init(requests: 3, forwarded: 2, failedByFault: 1, upstreamErrors: 0))
                }
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    /// Needs root (mount): CI runs as root. Without it this fails and says why; it never skips.
    @Test func aScratchFilesystemIsMadeFilledToTheRatioAndRemoved() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("validate-scratch-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let filesystem = try ScratchFilesystem.make(sizeBytes: 32 << 20, in: work)
        defer { filesystem.remove() }
        #expect(filesystem.usedRatio < 0.5)
        let reached = try filesystem.fill(to: 0.8)
        #expect(reached >= 0.8)
        #expect(reached < 0.9)
        #expect(filesystem.freeBytes > 0)
        let mountPoint = filesystem.mountPoint.path
        filesystem.remove()
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        #expect(!mounts.contains(" \(mountPoint) "))
    }
}
