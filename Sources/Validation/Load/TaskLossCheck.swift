import Foundation

/// The reliability gate's "0 acknowledged tasks lost": after the load, every task the target
/// acknowledged is read back with GetTask (by its owner) until it is in a terminal state or the
/// deadline passes, and a sample has its hash chain verified with ares/verifyTask.
public struct TaskLossCheck: Sendable {
    public struct Result: Sendable, Codable, Equatable {
        public var acknowledged: Int
        /// Found and ended (completed, failed, canceled, rejected).
        public var ended: Int
        /// Answered "task not found" (-32001): the target lost it.
        public var missing: Int
        /// Found, but still not ended when the deadline passed.
        public var unfinished: Int
        /// Could not be read (errors other than not-found, timeouts): counted as lost, since
        /// the task could not be shown to exist.
        public var unreadable: Int
        public var chainsChecked: Int
        public var chainsIntact: Int
        public var chainsBroken: Int
        /// ares/verifyTask is not offered by the target (another A2A server): chains unchecked.
        public var chainsUncheckable: Bool
        /// Ids of lost tasks (at most 20), for the report.
        public var lostExamples: [String]
        /// Of the ended ones, those that completed (the rest failed, were canceled or rejected).
        public var completed: Int = 0
        /// Ended but not completed, at most 20: `task-…: TASK_STATE_FAILED`.
        public var notCompletedExamples: [String] = []
        /// Ids of the tasks answered "not found" (all of them; not encoded: a restore's
        /// recovery point is computed from them).
        public var missingIDs: Set<String> = []
        /// Of the `missing`, those a backup-restore part reported as not restored within its
        /// RPO (`TasksNotRestored`): left out of `lost`, listed here so nothing is hidden.
        /// Filled only by `leavingOutTasksNotRestored(by:)` on the run-wide check.
        public var notRestoredWithinRPO: [String] = []

        enum CodingKeys: String, CodingKey {
            case acknowledged, ended, missing, unfinished, unreadable, chainsChecked, chainsIntact, chainsBroken, chainsUncheckable, lostExamples, completed,
                 notCompletedExamples, notRestoredWithinRPO
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            acknowledged = try container.decode(Int.self, forKey: .acknowledged)
            ended = try container.decode(Int.self, forKey: .ended)
            missing = try container.decode(Int.self, forKey: .missing)
            unfinished = try container.decode(Int.self, forKey: .unfinished)
            unreadable = try container.decode(Int.self, forKey: .unreadable)
            chainsChecked = try container.decode(Int.self, forKey: .chainsChecked)
            chainsIntact = try container.decode(Int.self, forKey: .chainsIntact)
            chainsBroken = try container.decode(Int.self, forKey: .chainsBroken)
            chainsUncheckable = try container.decode(Bool.self, forKey: .chainsUncheckable)
            lostExamples = try container.decode([String].self, forKey: .lostExamples)
            // Reports written before the count existed read as "none known".
            completed = try container.decodeIfPresent(Int.self, forKey: .completed) ?? 0
            notCompletedExamples = try container.decodeIfPresent([String].self, forKey: .notCompletedExamples) ?? []
            notRestoredWithinRPO = try container.decodeIfPresent([String].self, forKey: .notRestoredWithinRPO) ?? []
        }

        public init(acknowledged: Int, ended: Int, missing: Int, unfinished: Int, unreadable: Int, chainsChecked: Int, chainsIntact: Int,
                    chainsBroken: Int, chainsUncheckable: Bool, lostExamples: [String], completed: Int = 0) {
            self.acknowledged = acknowledged
            self.ended = ended
            self.missing = missing
            self.unfinished = unfinished
            self.unreadable = unreadable
            self.chainsChecked = chainsChecked
            self.chainsIntact = chainsIntact
            self.chainsBroken = chainsBroken
            self.chainsUncheckable = chainsUncheckable
            self.lostExamples = lostExamples
            self.completed = completed
        }

        /// Not found (less those a restore was allowed to lose), not ended, or unreadable.
        /// Saturating: a decoded report may hold any counts.
        public var lost: Int {
            let counted = missing.subtractingReportingOverflow(notRestoredWithinRPO.count)
            let missingCounted = counted.overflow ? 0 : max(0, counted.partialValue)
            return [unfinished, unreadable].reduce(missingCounted) { total, count in
                let sum = total.addingReportingOverflow(max(0, count))
                return sum.overflow ? Int.max : sum.partialValue
            }
        }

        /// The run-wide check with the tasks the plan's restore parts lost on purpose left out:
        /// of the tasks answered "not found", exactly those whose ids a restore part that ran
        /// reported in `tasksNotRestored` (acknowledged within its RPO before the kill). A task
        /// not found for any other reason, or unfinished, or unreadable, still counts as lost.
        public func leavingOutTasksNotRestored(by phases: [PhaseResult]) -> Result {
            let allowed = phases.filter { $0.status == .ran }
                .flatMap { ($0.actions ?? []).filter { $0.status == .ran }.flatMap { $0.tasksNotRestored?.taskIDs ?? [] } }
            var result = self
            var seen = Set<String>()
            result.notRestoredWithinRPO = allowed.filter { missingIDs.contains($0) && seen.insert($0).inserted }
            let leftOut = Set(result.notRestoredWithinRPO)
            result.lostExamples = lostExamples.filter { !leftOut.contains($0) }
            return result
        }
    }

    public let workload: A2AWorkload
    public var deadline: Duration
    public var chainSample: Int
    public var concurrency: Int

    public init(workload: A2AWorkload, deadline: Duration = .seconds(60), chainSample: Int = 50, concurrency: Int = 32) {
        self.workload = workload
        self.deadline = deadline
        self.chainSample = chainSample
        self.concurrency = concurrency
    }

    private enum Status: Sendable, Equatable { case completed, ended(String), missing, unfinished, unreadable }

    private struct StateReply: Decodable {
        struct Result: Decodable {
            struct Status: Decodable { var state: String }
            var status: Status?
            var intact: Bool?
        }
        struct ErrorObject: Decodable { var code: Int }
        var result: Result?
        var error: ErrorObject?
    }

    public func run() async -> Result {
        await run(workload.ledger.all())
    }

    /// The same check over some of the acknowledged tasks (e.g. those acknowledged before a
    /// deployment was killed and restored).
    public func run(_ entries: [TaskLedger.Entry]) async -> Result {
        let clock = ContinuousClock()
        let end = clock.now + deadline
        var statuses: [String: Status] = [:]
        await withTaskGroup(of: (String, Status).self) { group in
            var iterator = entries.makeIterator()
            var running = 0
            while running < max(1, concurrency), let entry = iterator.next() {
                group.addTask { (entry.id, await follow(entry, until: end, clock: clock)) }
                running += 1
            }
            while let (id, status) = await group.next() {
                statuses[id] = status
                if let entry = iterator.next() {
                    group.addTask { (entry.id, await follow(entry, until: end, clock: clock)) }
                }
            }
        }
        var result = Result(acknowledged: entries.count, ended: 0, missing: 0, unfinished: 0, unreadable: 0,
                            chainsChecked: 0, chainsIntact: 0, chainsBroken: 0, chainsUncheckable: false, lostExamples: [])
        for entry in entries {
            switch statuses[entry.id] ?? .unreadable {
            case .completed:
                result.ended += 1
                result.completed += 1
            case let .ended(state):
                result.ended += 1
                if result.notCompletedExamples.count < 20 { result.notCompletedExamples.append("\(entry.id): \(state)") }
            case .missing:
                result.missing += 1
                result.missingIDs.insert(entry.id)
            case .unfinished: result.unfinished += 1
            case .unreadable: result.unreadable += 1
            }
            if !Self.hasEnded(statuses[entry.id]), result.lostExamples.count < 20 { result.lostExamples.append(entry.id) }
        }
        // The chain sample: spread over the run (first, last and evenly between).
        let sample = Self.spread(entries.filter { Self.hasEnded(statuses[$0.id]) }, count: chainSample)
        for entry in sample {
            let (outcome, answer) = await workload.call("ares/verifyTask", params: #"{"id":"\#(entry.id)"}"#, owner: entry.owner)
            guard let answer, let reply = try? JSONDecoder().decode(StateReply.self, from: Data(answer.body.readableBytesView)) else {
                if outcome != .ok { result.chainsChecked += 1; result.chainsBroken += 1 }
                continue
            }
            if reply.error?.code == -32601 {
                result.chainsUncheckable = true
                break
            }
            result.chainsChecked += 1
            if reply.result?.intact == true { result.chainsIntact += 1 } else { result.chainsBroken += 1 }
        }
        return result
    }

    /// Polls one task until it has ended, is reported missing, or the deadline passes.
    private func follow(_ entry: TaskLedger.Entry, until end: ContinuousClock.Instant, clock: ContinuousClock) async -> Status {
        var last = Status.unreadable
        while true {
            let (_, answer) = await workload.call("GetTask", params: #"{"id":"\#(entry.id)","historyLength":0}"#, owner: entry.owner)
            if let answer, answer.failure == nil, let reply = try? JSONDecoder().decode(StateReply.self, from: Data(answer.body.readableBytesView)) {
                if reply.error?.code == -32001 { return .missing }
                if let state = reply.result?.status?.state {
                    if state == "TASK_STATE_COMPLETED" { return .completed }
                    if A2AWorkload.isTerminal(state) { return .ended(state) }
                    last = .unfinished
                } else {
                    last = .unreadable
                }
            } else {
                last = .unreadable
            }
            if Task.isCancelled || clock.now >= end { return last }
            try? await clock.sleep(for: .milliseconds(200))
        }
    }

    private static func hasEnded(_ status: Status?) -> Bool {
        switch status {
        case .completed?, .ended?: true
        default: false
        }
    }

    static func spread<T>(_ items: [T], count: Int) -> [T] {
        guard count > 0, !items.isEmpty else { return [] }
        guard items.count > count else { return items }
        if count == 1 { return [items[0]] }
        return (0..<count).map { items[$0 * (items.count - 1) / (count - 1)] }
    }
}
