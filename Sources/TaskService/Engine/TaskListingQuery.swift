import Foundation

/// Which tasks a listing asks for, and which page of them: the filters of A2A ListTasks
/// (owner for principals that see only their own tasks, context, state, time) and an
/// offset/limit page over the matches, newest first.
public struct TaskListingQuery: Sendable, Equatable {
    /// Only tasks of this owner; nil: every task (a principal that may see all).
    public var owner: String?
    /// Only tasks of this context; nil: any context.
    public var contextID: String?
    /// Only tasks whose coarse state is one of these; nil: any state. An empty set matches
    /// nothing (an A2A state, such as input-required, that no listed task can be in).
    public var states: Set<CoarseTaskState>?
    /// Only tasks whose last event was recorded strictly after this moment.
    public var updatedAfter: Date?
    /// Matches to skip before the page starts (never negative).
    public var offset: Int
    /// The page's size at most (never negative).
    public var limit: Int

    public init(owner: String? = nil, contextID: String? = nil, states: Set<CoarseTaskState>? = nil, updatedAfter: Date? = nil,
                offset: Int = 0, limit: Int = 50) {
        self.owner = owner
        self.contextID = contextID
        self.states = states
        self.updatedAfter = updatedAfter
        self.offset = max(0, offset)
        self.limit = max(0, limit)
    }

    /// Whether a task with these properties is listed. The one definition of the filters, for
    /// the projection and for the store query alike, so both answer the same.
    func matches(owner taskOwner: String?, contextID taskContext: String, state: CoarseTaskState, updatedAt: Date) -> Bool {
        if let owner, taskOwner != owner { return false }
        if let contextID, taskContext != contextID { return false }
        if let states, !states.contains(state) { return false }
        if let updatedAfter, !(updatedAt > updatedAfter) { return false }
        return true
    }
}

/// One page of a listing and how many tasks matched in all (A2A's `totalSize`).
public struct TaskListingPage: Sendable {
    public var entries: [TaskListingEntry]
    public var totalSize: Int

    public init(entries: [TaskListingEntry], totalSize: Int) {
        self.entries = entries
        self.totalSize = totalSize
    }

    /// The page of `query` out of every entry, already ordered newest first.
    static func paging(_ all: some Sequence<TaskListingEntry>, _ query: TaskListingQuery) -> TaskListingPage {
        var page: [TaskListingEntry] = []
        var matched = 0
        for entry in all where query.matches(owner: entry.owner, contextID: entry.contextID, state: entry.coarseState, updatedAt: entry.updatedAt) {
            if matched >= query.offset, page.count < query.limit { page.append(entry) }
            matched += 1
        }
        return TaskListingPage(entries: page, totalSize: matched)
    }
}
