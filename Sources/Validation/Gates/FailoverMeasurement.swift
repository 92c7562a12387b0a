/// What the failover phase measured when replicas of a deployment on one PostgreSQL database
/// were SIGKILLed under load: which replicas, how many tasks they held (leases in the shared work
/// queue at the moment of the kill), how long until every one of those ran again on another
/// replica, how long requests kept failing, and whether any step of those tasks was recorded twice.
public struct FailoverMeasurement: Sendable, Codable, Equatable {
    /// Replicas in the deployment.
    public var replicas: Int
    /// The replica ids killed (SIGKILL, all at the same moment).
    public var killed: [String]
    /// Seconds into the part's load when they were killed.
    public var killedAtSeconds: Double
    /// Tasks whose lease the killed replicas held at the kill.
    public var heldTasks: Int
    /// From the kill until the last of the held tasks was claimed by another replica (or had
    /// ended there); nil when some never were within the observation.
    public var takeoverSeconds: Double?
    /// Held tasks not taken over when the observation ended.
    public var notTakenOver: Int
    /// From the kill to the end of the last load window (by due time) in which a request failed:
    /// how long clients saw failures; 0 when none failed; nil when requests still failed in the
    /// load's last window (the failures had not stopped).
    public var failedTrafficSeconds: Double?
    /// Failed requests due from `inFlightSeconds` before the kill on: requests sent just before
    /// the kill fail when it lands (their windows are by due time).
    public var failedRequestsAfterKill: UInt64
    /// Steps of the held tasks recorded more than once (a once-only event type twice in a
    /// task's stream, or more than one ending).
    public var duplicateSteps: Int
    /// A few of them, `task-…: TaskPlanned ×2`.
    public var duplicateExamples: [String]

    public init(replicas: Int, killed: [String], killedAtSeconds: Double, heldTasks: Int, takeoverSeconds: Double?, notTakenOver: Int,
                failedTrafficSeconds: Double?, failedRequestsAfterKill: UInt64, duplicateSteps: Int, duplicateExamples: [String]) {
        self.replicas = replicas
        self.killed = killed
        self.killedAtSeconds = killedAtSeconds
        self.heldTasks = heldTasks
        self.takeoverSeconds = takeoverSeconds
        self.notTakenOver = notTakenOver
        self.failedTrafficSeconds = failedTrafficSeconds
        self.failedRequestsAfterKill = failedRequestsAfterKill
        self.duplicateSteps = duplicateSteps
        self.duplicateExamples = duplicateExamples
    }

    /// The review's "20 % of pods at random": a fifth of the replicas (rounded down) from five
    /// replicas on, else one; never all of them (someone must take over).
    public static func victimCount(replicas: Int) -> Int {
        guard replicas >= 2 else { return 0 }
        return replicas >= 5 ? max(1, replicas / 5) : 1
    }

    /// Requests due this long before the kill may still be in flight when it lands (late on a
    /// loaded machine): their failures are the kill's too.
    public static let inFlightSeconds = 2.0

    /// How long failures lasted after the kill, from the load's windows (offsets by due time
    /// from the load's start): the end of the last window with a failed request, minus the kill
    /// (at least 0); 0 when none failed; nil when the load's last window still had failures.
    /// Windows from `inFlightSeconds` before the kill on count.
    public static func failedTraffic(windows: [LoadMeasurement.Window], killedAtSeconds: Double) -> (seconds: Double?, failed: UInt64) {
        let after = windows.filter { $0.startSeconds + $0.seconds > killedAtSeconds - inFlightSeconds }.sorted { $0.startSeconds < $1.startSeconds }
        let failed = after.reduce(UInt64(0)) { $0 &+ $1.failed }
        guard let lastFailing = after.last(where: { $0.failed > 0 }) else { return (0, failed) }
        if let last = after.last, last.startSeconds == lastFailing.startSeconds { return (nil, failed) }
        return (max(0, lastFailing.startSeconds + lastFailing.seconds - killedAtSeconds), failed)
    }
}
