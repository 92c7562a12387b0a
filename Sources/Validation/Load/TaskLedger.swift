import Foundation
import Synchronization

/// Every research task the target acknowledged during the run (a SendMessage answered with a
/// task id), which credential owns it, and whether it has been seen in a terminal state. The
/// GetTask requests of the mix poll the unfinished ones (round-robin), and the reliability check
/// at the end looks every one up: an acknowledged task the target cannot find is a lost task.
public final class TaskLedger: Sendable {
    public struct Entry: Sendable, Equatable {
        public var id: String
        /// Index of the credential that submitted it (tasks are visible to their owner).
        public var owner: Int
        public var terminal: Bool
        /// When the acknowledgement arrived (wall clock): a restore's recovery point is judged
        /// against it (which acknowledged tasks predate the moment the deployment was lost).
        public var acknowledgedAt: Date

        public init(id: String, owner: Int, terminal: Bool, acknowledgedAt: Date = Date()) {
            self.id = id
            self.owner = owner
            self.terminal = terminal
            self.acknowledgedAt = acknowledgedAt
        }
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var order: [String] = []
        var pending: [String] = []
        var pollCursor = 0
        var readCursor = 0
    }

    private let state = Mutex(State())
    /// Kept for the final check, at most this many (the rest are counted).
    public let capacity: Int

    public init(capacity: Int = 2_000_000) { self.capacity = capacity }

    public var count: Int { state.withLock { $0.order.count } }

    public func acknowledge(id: String, owner: Int, terminal: Bool, at time: Date = Date()) {
        state.withLock { state in
            guard state.entries[id] == nil, state.order.count < capacity else { return }
            state.entries[id] = Entry(id: id, owner: owner, terminal: terminal, acknowledgedAt: time)
            state.order.append(id)
            if !terminal { state.pending.append(id) }
        }
    }

    public func markTerminal(_ id: String) {
        state.withLock { state in
            guard var entry = state.entries[id], !entry.terminal else { return }
            entry.terminal = true
            state.entries[id] = entry
        }
    }

    /// The next task to poll: an unfinished one (oldest first, round-robin), else any known task
    /// (reading a finished task is what a client does with its result), else nil.
    public func nextToPoll() -> Entry? {
        state.withLock { state in
            // Drop the finished tasks from the front of the pending list as they are met.
            var scanned = 0
            while !state.pending.isEmpty, scanned < 64 {
                if state.pollCursor >= state.pending.count { state.pollCursor = 0 }
                let id = state.pending[state.pollCursor]
                if let entry = state.entries[id], !entry.terminal {
                    state.pollCursor += 1
                    return entry
                }
                state.pending.remove(at: state.pollCursor)
                scanned += 1
            }
            guard !state.order.isEmpty else { return nil }
            if state.readCursor >= state.order.count { state.readCursor = 0 }
            defer { state.readCursor += 1 }
            return state.entries[state.order[state.readCursor]]
        }
    }

    /// An unfinished task to follow, else the most recently acknowledged one.
    public func taskToFollow() -> Entry? {
        state.withLock { state in
            for id in state.pending.reversed().prefix(16) {
                if let entry = state.entries[id], !entry.terminal { return entry }
            }
            return state.order.last.flatMap { state.entries[$0] }
        }
    }

    public func all() -> [Entry] {
        state.withLock { state in state.order.compactMap { state.entries[$0] } }
    }
}
