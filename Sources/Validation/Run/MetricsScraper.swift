import Foundation
import NIOHTTP1
import Synchronization

/// Reads the target's /metrics at a fixed interval for the whole run, so the report can show
/// the server's memory, CPU and queue depth beside the load it was under. A failed scrape is
/// counted, not fatal: the load phases are the measurement, these are context.
public final class MetricsScraper: Sendable {
    private let http: LoadHTTPClient
    private let url: String
    private let authorization: String?
    private let interval: Duration
    private let samples = Mutex<[ServerMetricsSample]>([])
    private let failures = Atomic<Int>(0)

    public init(http: LoadHTTPClient, target: ValidationTarget, authorization: String?, interval: Duration) {
        self.http = http
        self.url = target.url("/metrics")
        self.authorization = authorization
        self.interval = interval
    }

    /// Scrapes until cancelled; `origin` is the run's start (sample times are offsets from it).
    public func run(origin: ContinuousClock.Instant) async {
        let clock = ContinuousClock()
        while !Task.isCancelled {
            var headers: HTTPHeaders = [:]
            if let authorization { headers.add(name: "Authorization", value: authorization) }
            let answer = await http.get(url, headers: headers)
            if answer.failure == nil, answer.status == 200 {
                let elapsed = clock.now - origin
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                let sample = ServerMetricsSample.parse(String(buffer: answer.body), at: seconds)
                samples.withLock { $0.append(sample) }
            } else {
                failures.wrappingAdd(1, ordering: .relaxed)
            }
            try? await clock.sleep(for: interval)
        }
    }

    public var collected: [ServerMetricsSample] { samples.withLock { $0 } }
    public var failedScrapes: Int { failures.load(ordering: .relaxed) }
}
