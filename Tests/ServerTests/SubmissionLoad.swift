import Foundation

/// Clients that submit research tasks to every replica of a set, one loop per replica, until
/// stopped: what the database restart happens under. Records each answer: acknowledged task
/// ids, retryable refusals (HTTP 503 with Retry-After and JSON-RPC -32050), anything else.
final class SubmissionLoad: @unchecked Sendable {
    private let set: ReplicaSet
    private let lock = NSLock()
    private var _acknowledged: [String] = []
    private var _refusals = 0
    private var _unexpected: [String] = []
    private var stopped = false
    private var inFlight = 0

    private let interval: Duration

    init(set: ReplicaSet, interval: Duration = .milliseconds(300)) {
        self.set = set
        self.interval = interval
    }

    var acknowledged: [String] { lock.withLock { _acknowledged } }
    var refusals: Int { lock.withLock { _refusals } }
    var unexpected: [String] { lock.withLock { _unexpected } }
    func stop() { lock.withLock { stopped = true } }

    /// One submission every `interval` per replica, each on its own (open loop, at most 100 in
    /// flight in all): a request held up by the outage does not hold back the next, so the
    /// refusals of a replica that knows its database is away are seen while it is away.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            for replica in set.replicas {
                group.addTask {
                    await withTaskGroup(of: Void.self) { requests in
                        var index = 0
                        while !self.lock.withLock({ self.stopped }) {
                            index += 1
                            let admitted = self.lock.withLock {
                                guard self.inFlight < 100 else { return false }
                                self.inFlight += 1
                                return true
                            }
                            if admitted {
                                requests.addTask { [index] in
                                    await self.submitOnce(to: replica, index: index)
                                    self.lock.withLock { self.inFlight -= 1 }
                                }
                            }
                            try? await Task.sleep(for: self.interval)
                        }
                    }
                }
            }
        }
    }

    private func submitOnce(to replica: ServerProcess, index: Int) async {
        let question = ReplicaSet.questions[index % ReplicaSet.questions.count] + " (restart \(index))"
        do {
            switch try await set.submit(question, to: replica) {
            case let .acknowledged(id):
                lock.withLock { _acknowledged.append(id) }
            case let .refused(status, code, retryAfter, message):
                if status == 503, code == -32050, retryAfter {
                    lock.withLock { _refusals += 1 }
                } else {
                    lock.withLock { _unexpected.append("HTTP \(status), code \(code.map(String.init) ?? "none"), Retry-After \(retryAfter): \(message)") }
                }
            }
        } catch {
            lock.withLock { _unexpected.append("no answer: \(error)") }
        }
    }

    func waitForAcknowledged(_ count: Int, within seconds: Double) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while acknowledged.count < count {
            guard Date() < deadline else {
                throw ServerProcess.Failure("only \(acknowledged.count) of \(count) submissions acknowledged within \(Int(seconds)) s; unexpected: \(unexpected.prefix(3))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
