import Histogram

/// Percentiles of a latency histogram in milliseconds (recorded in microseconds).
public struct LatencySummary: Sendable, Codable, Equatable {
    public var count: UInt64
    public var p50: Double
    public var p90: Double
    public var p95: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    public var mean: Double

    public static let empty = LatencySummary(count: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0, mean: 0)

    public init(count: UInt64, p50: Double, p90: Double, p95: Double, p99: Double, p999: Double, max: Double, mean: Double) {
        self.count = count
        self.p50 = p50
        self.p90 = p90
        self.p95 = p95
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.mean = mean
    }

    public init<Count>(microseconds histogram: Histogram<Count>) {
        guard histogram.totalCount > 0 else {
            self = .empty
            return
        }
        func ms(_ value: UInt64) -> Double { Double(value) / 1000 }
        self.init(count: histogram.totalCount,
                  p50: ms(histogram.valueAtPercentile(50)), p90: ms(histogram.valueAtPercentile(90)),
                  p95: ms(histogram.valueAtPercentile(95)), p99: ms(histogram.valueAtPercentile(99)),
                  p999: ms(histogram.valueAtPercentile(99.9)), max: ms(histogram.max), mean: histogram.mean / 1000)
    }
}
