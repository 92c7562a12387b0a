import Foundation
import ResearchCore
import Storage
import Synchronization

/// The task listing kept in memory, so that ListTasks costs a scan of compact rows instead of
/// two store queries over every task and a decode of every first event (measured in
/// BENCHMARKS.md: at 10 % of the seed plan's mix that scan was more CPU than two cores have).
///
/// It is rebuilt from the event log on first use and kept current by the task service, which
/// records every event it appends here; a server whose tasks are also appended elsewhere (other
/// replicas) must record theirs too (`record(_:)`), or run with capacity 0, which reads the store
/// for every listing. Each row carries its stream version, so events recorded while the log is
/// being read, or recorded twice, merge to the newest. Memory is bounded: past `capacity` tasks
/// it drops its rows and reads the store for every listing, as before it existed.
public final class TaskListingProjection: Sendable {
    /// About 200 bytes a task (estimated: a 72-byte row, the id's storage, an index entry): 100 MB.
    public static let defaultCapacity = 500_000

    /// One listed task, with its owner as a number (compared per row on every listing) and its
    /// state precomputed.
    struct Row {
        var id: String
        var contextID: String
        var lastType: String
        var micros: Int64
        var version: Int64
        var owner: Int32
        var state: CoarseTaskState

        func precedes(_ micros: Int64, _ id: String) -> Bool {
            self.micros < micros || (self.micros == micros && self.id < id)
        }
    }

    /// The newest event known of a task whose first event is not (yet) known here.
    struct Head {
        var micros: Int64
        var version: Int64
        var lastType: String
    }

    fileprivate struct Contents {
        /// Ascending by (time of the last event, id): the newest last, where updates land, so
        /// that moving an updated task costs little.
        var rows: [Row] = []
        /// Where each task's row is (its time), and its version.
        var placed: [String: (micros: Int64, version: Int64)] = [:]
        /// Steps of tasks without a row, merged when the log has been read.
        var pending: [String: Head] = [:]
        /// Tasks removed while the log was being read, which the read may still contain.
        var removedWhileLoading: Set<String> = []
        var ownerCodes: [String: Int32] = [:]
        var ownerNames: [String] = []
        var loaded = false
        var loading = false
        /// More tasks than the capacity: the store answers every listing.
        var overflowed = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private enum Step {
        case answer(TaskListingPage)
        case readStore
        case load
        case wait
    }

    public let store: any EventStore
    /// Tasks kept in memory at most; 0: none, every listing reads the store.
    public let capacity: Int
    private let contents = Mutex(Contents())

    public init(store: any EventStore, capacity: Int = TaskListingProjection.defaultCapacity) {
        self.store = store
        self.capacity = max(0, capacity)
    }

    // MARK: Listing

    /// One page of the tasks that match `query`, newest first, and how many match in all.
    public func page(_ query: TaskListingQuery) async throws -> TaskListingPage {
        // A load can be undone at once (an event of a task it did not know arrived): a few
        // attempts, then the store answers.
        for _ in 0..<3 {
            let step = contents.withLock { contents -> Step in
                if capacity == 0 || contents.overflowed { return .readStore }
                if contents.loaded { return .answer(contents.page(query)) }
                if contents.loading { return .wait }
                contents.loading = true
                return .load
            }
            switch step {
            case let .answer(page):
                return page
            case .readStore:
                return try await TaskListing.page(in: store, query)
            case .wait:
                await waitForLoad()
            case .load:
                try await loadAndWakeWaiters()
            }
        }
        return try await TaskListing.page(in: store, query)
    }

    /// Reads the log now instead of at the first listing (a server warming up).
    public func load() async throws {
        _ = try await page(TaskListingQuery(limit: 0))
    }

    /// How many tasks are held in memory (0 before the first listing and when overflowed).
    public var count: Int { contents.withLock { $0.rows.count } }

    private func waitForLoad() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = contents.withLock { contents -> Bool in
                guard contents.loading else { return true }
                contents.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func loadAndWakeWaiters() async throws {
        let outcome: Result<[TaskListingEntry], any Error>
        do {
            outcome = .success(try await TaskListing.entries(in: store))
        } catch {
            outcome = .failure(error)
        }
        let waiters = contents.withLock { contents in
            if case let .success(entries) = outcome { contents.merge(entries, capacity: capacity) }
            contents.loading = false
            contents.removedWhileLoading = []
            defer { contents.waiters = [] }
            return contents.waiters
        }
        // Waiters try again: they answer from memory, or one of them reads the log this time.
        for waiter in waiters { waiter.resume() }
        if case let .failure(error) = outcome { throw error }
    }

    // MARK: Recording

    /// A task was submitted: its first event as stored, with the owner and context it names.
    public func recordSubmitted(_ stored: StoredEvent, owner: String?, contextID: String?) {
        guard capacity > 0 else { return }
        contents.withLock { contents in
            contents.insertFirst(stored, owner: owner, contextID: contextID, capacity: capacity)
        }
    }

    /// An event of a task stream was stored (by this process or, fed by a change feed, by
    /// another). A first event is decoded for its owner and context; other streams are ignored.
    public func record(_ stored: StoredEvent) {
        guard capacity > 0, stored.stream.hasPrefix("task-") else { return }
        if stored.version == 1 {
            guard case let .submitted(_, owner, contextID)? = try? TaskEventCodec.decode(stored.payload) else { return }
            recordSubmitted(stored, owner: owner, contextID: contextID)
            return
        }
        contents.withLock { contents in
            contents.advance(stored.stream, to: Head(micros: stored.recordedAtMicroseconds, version: stored.version, lastType: stored.type),
                             capacity: capacity)
        }
    }

    /// Tasks removed from the store (retention): no longer listed.
    public func remove(_ ids: [String]) {
        guard capacity > 0, !ids.isEmpty else { return }
        contents.withLock { contents in
            for id in ids {
                contents.removeRow(id)
                contents.pending[id] = nil
                if contents.loading { contents.removedWhileLoading.insert(id) }
            }
        }
    }
}

extension TaskListingProjection.Contents {
    typealias Row = TaskListingProjection.Row
    typealias Head = TaskListingProjection.Head

    // MARK: Reading

    func page(_ query: TaskListingQuery) -> TaskListingPage {
        var ownerCode: Int32?
        if let owner = query.owner {
            // An owner with no task here matches nothing.
            guard let code = ownerCodes[owner] else { return TaskListingPage(entries: [], totalSize: 0) }
            ownerCode = code
        }
        var entries: [TaskListingEntry] = []
        var matched = 0
        rows.withUnsafeBufferPointer { rows in
            var index = rows.endIndex
            while index > rows.startIndex {
                index -= 1
                if let ownerCode, rows[index].owner != ownerCode { continue }
                if let states = query.states, !states.contains(rows[index].state) { continue }
                if let context = query.contextID, rows[index].contextID != context { continue }
                if let after = query.updatedAfter, !(Self.date(rows[index].micros) > after) { continue }
                if matched >= query.offset, entries.count < query.limit { entries.append(entry(rows[index])) }
                matched += 1
            }
        }
        return TaskListingPage(entries: entries, totalSize: matched)
    }

    func entry(_ row: Row) -> TaskListingEntry {
        let owner = ownerNames.indices.contains(Int(row.owner)) ? ownerNames[Int(row.owner)] : nil
        return TaskListingEntry(id: row.id, owner: owner, contextID: row.contextID, lastType: row.lastType,
                                updatedAt: Self.date(row.micros), version: row.version)
    }

    /// The same conversion as the stores' (`StreamInfo.lastRecordedAt`), so that time filters
    /// compare exactly as they did on the store's answer.
    static func date(_ micros: Int64) -> Date {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    static func micros(_ date: Date) -> Int64 {
        Int64(exactly: (date.timeIntervalSince1970 * 1_000_000).rounded()) ?? 0
    }

    /// The index of the first row that does not precede (micros, id).
    func lowerBound(_ micros: Int64, _ id: String) -> Int {
        var low = rows.startIndex
        var high = rows.endIndex
        while low < high {
            let middle = low + (high - low) / 2
            if rows[middle].precedes(micros, id) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    // MARK: Writing

    mutating func ownerCode(_ owner: String?) -> Int32 {
        guard let owner else { return -1 }
        if let code = ownerCodes[owner] { return code }
        let code = Int32(clamping: ownerNames.count)
        ownerCodes[owner] = code
        ownerNames.append(owner)
        return code
    }

    mutating func insertFirst(_ stored: StoredEvent, owner: String?, contextID: String?, capacity: Int) {
        guard !overflowed, placed[stored.stream] == nil else { return }
        var row = Row(id: stored.stream, contextID: contextID ?? stored.stream, lastType: stored.type, micros: stored.recordedAtMicroseconds,
                      version: stored.version, owner: ownerCode(owner), state: CoarseTaskState(lastType: stored.type))
        if let head = pending.removeValue(forKey: stored.stream), head.version > row.version { Self.apply(head, to: &row) }
        insert(row, capacity: capacity)
    }

    mutating func advance(_ id: String, to head: Head, capacity: Int) {
        guard !overflowed else { return }
        guard let place = placed[id] else {
            // A step of a task without a row: before the log is read, kept for the merge; after,
            // the first event was missed (appended elsewhere), so the next listing reads the log.
            if let known = pending[id], known.version >= head.version { return }
            if pending.count >= capacity { pending.removeAll() }
            pending[id] = head
            if loaded { loaded = false }
            return
        }
        guard head.version > place.version else { return }
        let index = lowerBound(place.micros, id)
        guard rows.indices.contains(index), rows[index].id == id else { return }
        var row = rows.remove(at: index)
        Self.apply(head, to: &row)
        insert(row, capacity: capacity)
    }

    static func apply(_ head: Head, to row: inout Row) {
        row.micros = head.micros
        row.version = head.version
        row.lastType = head.lastType
        row.state = CoarseTaskState(lastType: head.lastType)
    }

    mutating func insert(_ row: Row, capacity: Int) {
        guard rows.count < capacity else {
            overflow()
            return
        }
        rows.insert(row, at: lowerBound(row.micros, row.id))
        placed[row.id] = (row.micros, row.version)
    }

    mutating func removeRow(_ id: String) {
        guard let place = placed.removeValue(forKey: id) else { return }
        let index = lowerBound(place.micros, id)
        if rows.indices.contains(index), rows[index].id == id { rows.remove(at: index) }
    }

    /// More tasks than the capacity: everything is dropped and the store answers listings.
    mutating func overflow() {
        overflowed = true
        rows = []
        placed = [:]
        pending = [:]
    }

    /// Folds the log's listing (read while events kept arriving) into the rows: per task the
    /// newer version wins; tasks removed meanwhile stay removed.
    mutating func merge(_ entries: [TaskListingEntry], capacity: Int) {
        guard !overflowed else { return }
        guard entries.count <= capacity else {
            overflow()
            return
        }
        var byID: [String: Row] = [:]
        byID.reserveCapacity(max(entries.count, rows.count))
        for row in rows { byID[row.id] = row }
        for entry in entries where !removedWhileLoading.contains(entry.id) {
            if let known = byID[entry.id], known.version >= entry.version { continue }
            byID[entry.id] = Row(id: entry.id, contextID: entry.contextID, lastType: entry.lastType, micros: Self.micros(entry.updatedAt),
                                 version: entry.version, owner: ownerCode(entry.owner), state: entry.coarseState)
        }
        for (id, head) in pending {
            guard var row = byID[id], head.version > row.version else { continue }
            Self.apply(head, to: &row)
            byID[id] = row
        }
        pending = [:]
        guard byID.count <= capacity else {
            overflow()
            return
        }
        rows = byID.values.sorted { $0.precedes($1.micros, $1.id) }
        placed = [:]
        placed.reserveCapacity(rows.count)
        for row in rows { placed[row.id] = (row.micros, row.version) }
        loaded = true
    }
}
