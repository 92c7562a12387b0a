import Synchronization

/// An open-loop load generator at a constant arrival rate, after wrk2 and k6's
/// constant-arrival-rate executor. Request *i* is due at `start + i / rate`, whatever happened to
/// the requests before it; its latency is measured from that due time, not from when it was sent,
/// so a server that stalls for a second makes every request due during the stall a second late
/// (the stall shows in the high percentiles) instead of quietly slowing the generator down
/// (coordinated omission, which is what a closed-loop tool like wrk or Locust measures).
///
/// Concurrency is bounded (`maximumInFlight`, the size of the connection pool): when every slot
/// is busy at a request's due time the generator waits for one up to `sendDeadline`; a request
/// that finds none by then is not sent and is counted as `unsent`, never silently dropped.
public struct OpenLoopGenerator: Sendable {
    public var rate: Double
    public var duration: Duration
    public var maximumInFlight: Int
    public var sendDeadline: Duration
    /// Length of the time slices of the report's charts.
    public var windowSeconds: Double

    public init(rate: Double, duration: Duration, maximumInFlight: Int = 512, sendDeadline: Duration = .seconds(1), windowSeconds: Double = 1) {
        self.rate = rate
        self.duration = duration
        self.maximumInFlight = maximumInFlight
        self.sendDeadline = sendDeadline
        self.windowSeconds = windowSeconds
    }

    /// Requests due in the run: rate × duration, at least 0, at most 10⁹.
    public var scheduledCount: Int {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        let count = (rate * seconds).rounded(.down)
        guard count.isFinite, count > 0 else { return 0 }
        return count < 1e9 ? Int(count) : 1_000_000_000
    }

    /// Runs the schedule. `kind(i)` names request *i*'s kind before it is due (for the count of an
    /// unsent one); `execute(i)` performs it and says how it ended. Returns when every sent
    /// request has ended (each bounds its own time with a timeout). Cancellation stops the schedule.
    public func run(kind: @escaping @Sendable (Int) -> String,
                    execute: @escaping @Sendable (Int) async -> RequestResult) async -> LoadMeasurement {
        guard rate > 0, rate.isFinite else {
            return LoadRecorder(windowSeconds: windowSeconds).measurement(askedRate: rate, durationSeconds: 0, scheduled: 0, elapsedSeconds: 0)
        }
        let recorder = LoadRecorder(windowSeconds: windowSeconds)
        let slots = InFlightSlots(capacity: max(1, maximumInFlight))
        let clock = ContinuousClock()
        let total = scheduledCount
        let nanosecondsPerRequest = 1e9 / rate
        let start = clock.now + .milliseconds(5)
        let sendDeadline = self.sendDeadline
        await withDiscardingTaskGroup { group in
            for index in 0..<total {
                if Task.isCancelled { break }
                let offset = Duration.nanoseconds(Int64((Double(index) * nanosecondsPerRequest).rounded(.down)))
                let due = start + offset
                if clock.now < due {
                    // Tolerance lets the runtime coalesce wake-ups at high rates; the lateness
                    // still counts in the latency, which is measured from `due`.
                    try? await clock.sleep(until: due, tolerance: .microseconds(200))
                }
                var acquired = slots.tryAcquire()
                while !acquired, clock.now < due + sendDeadline, !Task.isCancelled {
                    try? await clock.sleep(for: .milliseconds(1))
                    acquired = slots.tryAcquire()
                }
                guard acquired else {
                    recorder.recordUnsent(kind: kind(index), dueOffset: offset)
                    continue
                }
                recorder.recordSendLag(clock.now - due)
                group.addTask {
                    let result = await execute(index)
                    recorder.record(kind: result.kind, outcome: result.outcome, dueOffset: offset, latency: clock.now - due)
                    slots.release()
                }
            }
        }
        let elapsed = clock.now - start
        let elapsedSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let durationSeconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return recorder.measurement(askedRate: rate, durationSeconds: durationSeconds, scheduled: UInt64(total), elapsedSeconds: elapsedSeconds)
    }
}

/// The concurrency slots of a run: an atomic count, so taking and returning one never blocks.
final class InFlightSlots: Sendable {
    private let inUse = Atomic<Int>(0)
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func tryAcquire() -> Bool {
        let (_, now) = inUse.wrappingAdd(1, ordering: .acquiringAndReleasing)
        if now <= capacity { return true }
        inUse.wrappingSubtract(1, ordering: .acquiringAndReleasing)
        return false
    }

    func release() { inUse.wrappingSubtract(1, ordering: .acquiringAndReleasing) }
}
