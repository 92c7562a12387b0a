import Foundation

/// A knowledge base on a shared repository, opened before its database answers: loading the
/// indexes later, refusing searches and writes until then, and rewriting the shared index
/// snapshot on a schedule rather than after every write.
extension KnowledgeBase {
    /// Whether the indexes hold the repository's contents (always, except for a shared
    /// knowledge base opened deferred whose `loadSharedIndexes()` has not completed).
    public nonisolated var isLoaded: Bool { indexesLoaded.withLock { $0 } }

    /// How many passages the published keyword index holds: what searches see, from memory
    /// (a readiness probe must not wait for a database that may have just gone away).
    public nonisolated var indexedPassageCount: Int { published.withLock { $0.indexes.keyword.count } }

    /// Throws what `admission` says when the knowledge base cannot serve now.
    nonisolated func admit() throws {
        guard let admission else { return }
        if let refusal = admission(isLoaded) { throw refusal }
    }

    /// Loads the indexes of a shared repository: its snapshot when it fits this embedder (else
    /// a rebuild from the stored passages and vectors; nothing is re-embedded), then every
    /// change after the snapshot from the change feed; publishes them and admits searches.
    /// Does nothing once loaded, or for a knowledge base on SQLite. A failure leaves it not
    /// loaded (searches still refused): call again.
    public func loadSharedIndexes() async throws {
        guard let store, let changeFeed, let sharedSnapshots, !isLoaded else { return }
        await waitForWriteSlot()
        defer { endWrite() }
        let stored = try await store.metaValue(Self.embedderMetaKey)
        storedEmbedderIdentity = stored
        var notes: [String] = []
        indexes = try await SearchIndexes.loadShared(
            repository: store, snapshots: sharedSnapshots, embedderIdentity: stored ?? embedder.identity,
            dimension: embedder.dimension, notes: &notes)
        warnings += notes
        try await applyChanges(from: changeFeed, store: store)
        publish()
        indexesLoaded.withLock { $0 = true }
    }

    /// After a write: saves the snapshot now (no schedule: the CLI, SQLite) or leaves it to
    /// `saveSnapshotIfDue()` (a server on a shared repository).
    func saveSnapshotAfterWrite() async throws {
        unsavedWrites += 1
        if oldestUnsavedWrite == nil { oldestUnsavedWrite = .now }
        guard let snapshotSchedule, sharedSnapshots != nil else {
            try await saveSnapshot()
            return
        }
        if snapshotSchedule.isDue(unsavedWrites: unsavedWrites, oldestUnsavedWrite: oldestUnsavedWrite, now: .now) {
            try await saveSnapshot()
        }
    }

    /// Saves the snapshot when this process's writes since the last one have waited as long as
    /// the schedule allows; returns whether it saved. Called on a timer (`KnowledgeChangeFollower`).
    @discardableResult
    public func saveSnapshotIfDue() async throws -> Bool {
        guard let snapshotSchedule,
              snapshotSchedule.isDue(unsavedWrites: unsavedWrites, oldestUnsavedWrite: oldestUnsavedWrite, now: .now)
        else { return false }
        return try await saveUnsavedSnapshot()
    }

    /// Saves the snapshot if this process wrote anything since the last one (at shutdown);
    /// returns whether it saved. The snapshot holds what the indexes hold, other processes'
    /// writes that were followed included, with the generation they reached.
    @discardableResult
    public func saveUnsavedSnapshot() async throws -> Bool {
        guard unsavedWrites > 0, isLoaded else { return false }
        // Not in the middle of a write: the indexes then hold part of it.
        await waitForWriteSlot()
        defer { endWrite() }
        guard unsavedWrites > 0 else { return false }
        try await saveSnapshot()
        return true
    }

    /// How many of this process's writes are not in a saved snapshot yet.
    public var writesNotInSnapshot: Int { unsavedWrites }
}
