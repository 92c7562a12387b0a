import Foundation
import Synchronization

/// The load balancer of a replicated deployment, on the generator's side: requests go
/// round-robin over the replicas that are in rotation, as a Kubernetes Service spreads them over
/// the ready endpoints. A replica leaves the rotation at its first refused or broken connection
/// (passive health, as nginx's `max_fails=1`) or when `/health/ready` stops answering 200, and
/// comes back once readiness answers 200 again (active health, `run`). Client-side instead of a
/// proxy: a proxy on this loopback would take CPU from the replicas it measures, and the
/// failover phase measures how long failures last, which only the rotation decides.
///
/// With no replica in rotation, requests still go round-robin over all of them, so an outage of
/// the whole deployment shows as failed requests instead of requests never sent.
public final class ReplicaBalancer: Sendable {
    private struct State {
        var inRotation: [Bool]
        var cursor = 0
        var sent: [UInt64]
        var ejections: [UInt64]
    }

    /// The replicas' base URLs, e.g. `http://127.0.0.1:8080` (no trailing slash).
    public let replicas: [String]
    private let state: Mutex<State>

    public init(replicas: [URL]) {
        self.replicas = replicas.map { url in
            var base = url.absoluteString
            while base.hasSuffix("/") { base.removeLast() }
            return base
        }
        state = Mutex(State(inRotation: Array(repeating: true, count: replicas.count),
                            sent: Array(repeating: 0, count: replicas.count), ejections: Array(repeating: 0, count: replicas.count)))
    }

    /// The replica the next request goes to (its index), or nil when there are none.
    public func next() -> Int? {
        state.withLock { state in
            let count = state.inRotation.count
            guard count > 0 else { return nil }
            let anyInRotation = state.inRotation.contains(true)
            for _ in 0..<count {
                let index = state.cursor % count
                state.cursor = (state.cursor + 1) % count
                if !anyInRotation || state.inRotation[index] {
                    state.sent[index] &+= 1
                    return index
                }
            }
            return nil
        }
    }

    /// The URL of `path` on replica `index`.
    public func url(_ path: String, replica index: Int) -> String {
        guard replicas.indices.contains(index) else { return path }
        return replicas[index] + (path.hasPrefix("/") ? path : "/" + path)
    }

    /// A request to `index` could not connect or lost its connection: out of rotation until
    /// readiness says otherwise.
    public func connectionFailed(_ index: Int) {
        state.withLock { state in
            guard state.inRotation.indices.contains(index), state.inRotation[index] else { return }
            state.inRotation[index] = false
            state.ejections[index] &+= 1
        }
    }

    public func setInRotation(_ index: Int, _ value: Bool) {
        state.withLock { state in
            guard state.inRotation.indices.contains(index) else { return }
            if state.inRotation[index], !value { state.ejections[index] &+= 1 }
            state.inRotation[index] = value
        }
    }

    public var rotation: [Bool] { state.withLock { $0.inRotation } }
    /// Requests sent to each replica so far.
    public var sentPerReplica: [UInt64] { state.withLock { $0.sent } }
    /// How often each replica left the rotation.
    public var ejectionsPerReplica: [UInt64] { state.withLock { $0.ejections } }

    /// Reads every replica's `/health/ready` every `interval` until cancelled and sets the
    /// rotation from the answers (200: in, anything else or no answer: out).
    public func run(http: LoadHTTPClient, interval: Duration = .milliseconds(250)) async {
        // A replica that hangs must not hold the others' checks for the load's long timeout.
        var probing = http
        probing.timeout = .seconds(1)
        let http = probing
        let clock = ContinuousClock()
        while !Task.isCancelled {
            await withTaskGroup(of: (Int, Bool).self) { group in
                for index in replicas.indices {
                    let url = url("/health/ready", replica: index)
                    group.addTask {
                        let answer = await http.get(url)
                        return (index, answer.failure == nil && answer.status == 200)
                    }
                }
                for await (index, ready) in group { setInRotation(index, ready) }
            }
            try? await clock.sleep(for: interval)
        }
    }
}
