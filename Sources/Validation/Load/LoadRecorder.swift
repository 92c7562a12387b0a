import Histogram
import Synchronization

/// Collects the results of one open-loop run while it happens: one HDR histogram of successful
/// latencies (microseconds, 3 significant digits, up to an hour), one per request kind (the
/// same), one per
/// time window (2 digits: they only feed the charts), outcome counts, and the send lag. Child
/// tasks record concurrently; a mutex keeps the histograms consistent (recording is a few ns,
/// so the lock is held only briefly even at tens of thousands of requests per second).
final class LoadRecorder: Sendable {
    private struct State {
        var latency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: LoadRecorder.highestMicroseconds,
                                        numberOfSignificantValueDigits: .three)
        var sendLag = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: LoadRecorder.highestMicroseconds,
                                        numberOfSignificantValueDigits: .two)
        var byKind: [String: Histogram<UInt64>] = [:]
        var outcomes: [RequestOutcome: UInt64] = [:]
        var outcomesByKind: [String: [RequestOutcome: UInt64]] = [:]
        var windows: [Int: WindowState] = [:]
    }

    private struct WindowState {
        var latency = Histogram<UInt32>(lowestDiscernibleValue: 1, highestTrackableValue: LoadRecorder.highestMicroseconds,
                                        numberOfSignificantValueDigits: .two)
        var outcomes: [RequestOutcome: UInt64] = [:]
    }

    /// One hour: a latency beyond it is recorded as one hour (a request that long is a failure anyway).
    static let highestMicroseconds: UInt64 = 3_600_000_000

    private let state = Mutex(State())
    let windowSeconds: Double

    init(windowSeconds: Double) {
        self.windowSeconds = windowSeconds > 0 && windowSeconds.isFinite ? windowSeconds : 1
    }

    /// One finished request: `dueOffset` is its due time from the run's start, `latency` from
    /// its due time to its answer.
    func record(kind: String, outcome: RequestOutcome, dueOffset: Duration, latency: Duration) {
        let micros = Self.microseconds(latency)
        let window = Self.windowIndex(dueOffset, windowSeconds)
        state.withLock { state in
            state.outcomes[outcome, default: 0] += 1
            state.outcomesByKind[kind, default: [:]][outcome, default: 0] += 1
            state.windows[window, default: WindowState()].outcomes[outcome, default: 0] += 1
            guard outcome == .ok else { return }
            state.latency.record(micros)
            state.windows[window, default: WindowState()].latency.record(micros)
            if state.byKind[kind] == nil {
                state.byKind[kind] = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: Self.highestMicroseconds,
                                                       numberOfSignificantValueDigits: .three)
            }
            state.byKind[kind]?.record(micros)
        }
    }

    /// A request that was sent `lag` after its due time.
    func recordSendLag(_ lag: Duration) {
        let micros = Self.microseconds(lag)
        state.withLock { _ = $0.sendLag.record(micros) }
    }

    /// A request the generator could not send within the send deadline.
    func recordUnsent(kind: String, dueOffset: Duration) {
        let window = Self.windowIndex(dueOffset, windowSeconds)
        state.withLock { state in
            state.outcomes[.unsent, default: 0] += 1
            state.outcomesByKind[kind, default: [:]][.unsent, default: 0] += 1
            state.windows[window, default: WindowState()].outcomes[.unsent, default: 0] += 1
        }
    }

    func measurement(askedRate: Double, durationSeconds: Double, scheduled: UInt64, elapsedSeconds: Double) -> LoadMeasurement {
        state.withLock { state in
            var distribution = ""
            state.latency.outputPercentileDistribution(to: &distribution, outputValueUnitScalingRatio: 1000)
            let windows = state.windows.keys.sorted().compactMap { index -> LoadMeasurement.Window? in
                guard let window = state.windows[index] else { return nil }
                return LoadMeasurement.Window(startSeconds: Double(index) * windowSeconds, seconds: windowSeconds,
                                              outcomes: Self.named(window.outcomes), latency: LatencySummary(microseconds: window.latency))
            }
            return LoadMeasurement(
                askedRate: askedRate, durationSeconds: durationSeconds, scheduled: scheduled,
                outcomes: Self.named(state.outcomes), latency: LatencySummary(microseconds: state.latency),
                latencyByKind: state.byKind.mapValues { LatencySummary(microseconds: $0) },
                outcomesByKind: state.outcomesByKind.mapValues(Self.named),
                sendLag: LatencySummary(microseconds: state.sendLag), elapsedSeconds: elapsedSeconds,
                windows: windows, percentileDistribution: distribution)
        }
    }

    private static func named(_ counts: [RequestOutcome: UInt64]) -> [String: UInt64] {
        Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) })
    }

    /// Whole microseconds, at least 1 (the histogram's lowest value), at most an hour.
    static func microseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 1 }
        guard seconds < 3600 else { return highestMicroseconds }
        let micros = UInt64(seconds) * 1_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000_000)
        return max(1, min(micros, highestMicroseconds))
    }

    static func windowIndex(_ offset: Duration, _ windowSeconds: Double) -> Int {
        let seconds = Double(offset.components.seconds) + Double(offset.components.attoseconds) / 1e18
        let index = (seconds / windowSeconds).rounded(.down)
        guard index.isFinite, index >= 0 else { return 0 }
        return index < 1_000_000 ? Int(index) : 1_000_000
    }
}
