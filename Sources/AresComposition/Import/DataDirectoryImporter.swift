import Foundation
import Knowledge
import PostgresStorage
import Security
import Storage

/// Moves an embedded data directory into the shared PostgreSQL database (`ares db import
/// --from-data-dir DIR`): every event stream with its hash chain intact (the same versions,
/// times and hashes, so `ares verify --database` checks the very chains `ares verify` checked;
/// push configs and episodic memory are streams too), the API keys (digests, roles,
/// revocations), and the documents with their passages and vectors (never re-embedded),
/// followed by a fresh index snapshot so the first replica loads it instead of re-indexing.
///
/// **Refusals, before anything is written.** A directory another ares process holds (its
/// `ares.lock`, taken by `ares serve` and ingest, is taken here for the whole import); a source
/// whose hash chains are broken (the streams are named); a database that already holds ares
/// data, unless `allowNonempty` or it is this directory's own interrupted import; and, even
/// then, any stream, document or key that exists on both sides in different forms.
///
/// **Resumable.** Each batch commits on its own, and everything already copied is recognized
/// by identity (a stream whose head in the database is a prefix of the directory's chain
/// continues from there; a document with the same source and content hash, or a key with the
/// same id and digest, is skipped), and the database records which directory is being
/// imported (`PostgresImportTarget.markerKey`). So an import that was interrupted is finished
/// by running the same command again, and running it after it finished copies nothing.
public struct DataDirectoryImporter: Sendable {
    /// What one run did.
    public struct Summary: Sendable, Equatable {
        public var streams = 0
        public var events = 0
        /// Streams the database already held whole (an earlier run, or a server since).
        public var streamsAlreadyPresent = 0
        public var documents = 0
        public var passages = 0
        public var documentsAlreadyPresent = 0
        public var apiKeys = 0
        public var revocations = 0
        /// The generation of the index snapshot written at the end (nil: none written).
        public var snapshotGeneration: Int64?
        /// Whether this run continued an import of the same directory that had not finished.
        public var resumed = false
        /// Checkpoints (and summaries) of streams removed by retention, copied.
        public var prunedStreams = 0
        /// Checkpoints the database held already (an earlier run).
        public var prunedStreamsAlreadyPresent = 0
    }

    /// Events per transaction (and payload bytes): one commit carries many small task streams,
    /// while a batch stays a few megabytes.
    static let eventsPerBatch = 2_000
    static let bytesPerBatch = 8 << 20
    static let documentsPerBatch = 25
    /// Checkpoints per statement (each a few hundred bytes of summary).
    static let prunedStreamsPerBatch = 1_000

    public let dataDirectory: URL
    public let database: PostgresDatabase
    public let allowNonempty: Bool
    /// Receives a line now and then on long imports (at most one a second per phase, and one
    /// at each phase's end).
    public let progress: @Sendable (String) -> Void

    public init(dataDirectory: URL, database: PostgresDatabase, allowNonempty: Bool, progress: @escaping @Sendable (String) -> Void) {
        self.dataDirectory = dataDirectory.standardizedFileURL
        self.database = database
        self.allowNonempty = allowNonempty
        self.progress = progress
    }

    var eventStorePath: String { dataDirectory.appendingPathComponent(ResearchEnvironment.eventStoreFileName).path }
    var documentStorePath: String { dataDirectory.appendingPathComponent(KnowledgeBase.databaseFileName).path }
    var keyStorePath: String { dataDirectory.appendingPathComponent(APIKeyStore.fileName).path }

    public func run() async throws -> Summary {
        let files = FileManager.default
        guard [eventStorePath, documentStorePath, keyStorePath].contains(where: { files.fileExists(atPath: $0) }) else {
            throw DataDirectoryImportError.notADataDirectory(path: dataDirectory.path)
        }
        // Held to the end: no server or ingest writes the directory while it is copied.
        let lock: DataDirectoryLock
        do {
            lock = try DataDirectoryLock(directory: dataDirectory)
        } catch let held as DataDirectoryLock.HeldElsewhere {
            throw DataDirectoryImportError.dataDirectoryInUse(path: dataDirectory.path, holder: held.holder)
        }
        defer { withExtendedLifetime(lock) {} }

        let events = files.fileExists(atPath: eventStorePath) ? try SQLiteEventStore(path: eventStorePath) : nil
        let documents = files.fileExists(atPath: documentStorePath) ? try DocumentStore(path: documentStorePath, readOnly: true) : nil
        let keys = files.fileExists(atPath: keyStorePath) ? try APIKeyStore(path: keyStorePath).all() : []

        let summary = Summary()
        if let events {
            let verification = try await events.verify()
            if let first = verification.breaks.first {
                var streams: [String] = []
                for problem in verification.breaks where !streams.contains(problem.stream) { streams.append(problem.stream) }
                throw DataDirectoryImportError.brokenChains(file: ResearchEnvironment.eventStoreFileName, streams: streams, first: first.description)
            }
        }
        return try await copy(events: events, documents: documents, keys: keys, summary: summary)
    }

    /// Where each source stream stands against the database.
    private struct StreamPlan {
        var stream: String
        var sourceVersion: Int64
        /// The database's version of it (0: absent); events after it are copied.
        var copiedUpTo: Int64
    }

    private func copy(events: SQLiteEventStore?, documents: DocumentStore?, keys: [StoredAPIKey], summary: Summary) async throws -> Summary {
        var summary = summary
        let target = PostgresImportTarget(database: database)
        let sharedDocuments = PostgresDocumentStore(database: database)
        let sharedKeys = PostgresAPIKeyStore(database: database)

        // What the database holds, and whether it is this directory's own unfinished import.
        let marker = try await sharedDocuments.metaValue(PostgresImportTarget.markerKey).flatMap(ImportMarker.decode)
        let contents = try await target.contents()
        let ownImport = marker?.dataDirectory == dataDirectory.path
        if !contents.isEmpty, !allowNonempty, !ownImport {
            throw DataDirectoryImportError.databaseNotEmpty(streams: contents.streams, documents: contents.documents, apiKeys: contents.apiKeys)
        }
        summary.resumed = ownImport && marker?.completedAt == nil

        // Every conflict found before the first write, so a refusal leaves the database as it was.
        let sourceStreams = try await events?.streams() ?? []
        if let bad = sourceStreams.first(where: { $0.stream.utf8.contains(0) }) {
            throw DataDirectoryImportError.unstorable("stream \(bad.stream.debugDescription) has a NUL character")
        }
        var conflicts: [String] = []
        var plans: [StreamPlan] = []
        let heads = try await target.heads(of: sourceStreams.map(\.stream))
        for stream in sourceStreams.sorted(by: { $0.stream < $1.stream }) {
            guard let head = heads[stream.stream] else {
                plans.append(StreamPlan(stream: stream.stream, sourceVersion: stream.version, copiedUpTo: 0))
                continue
            }
            // One chain must extend the other: compare the hashes at the shorter one's head.
            let common = min(head.version, stream.version)
            let sourceHash = try await events?.read(stream: stream.stream, afterVersion: common - 1).first?.hash
            let targetHash = head.version == common ? head.hash : try await target.hash(of: stream.stream, at: common)
            guard let sourceHash, sourceHash == targetHash else {
                conflicts.append("stream \(stream.stream) differs at version \(common)")
                continue
            }
            plans.append(StreamPlan(stream: stream.stream, sourceVersion: stream.version, copiedUpTo: common))
        }
        let storedDocuments = try await sharedDocuments.storedDocuments()
        let sourceDocuments = try documents?.storedDocuments() ?? [:]
        for (source, document) in sourceDocuments.sorted(by: { $0.key < $1.key }) {
            if let stored = storedDocuments[source], stored.contentHash != document.contentHash {
                conflicts.append("document \(source) has other content")
            }
        }
        let storedKeys = Dictionary(try await sharedKeys.all().map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for key in keys {
            if let stored = storedKeys[key.id], !ConstantTime.equals(stored.secretDigest, key.secretDigest) || stored.role != key.role {
                conflicts.append("API key \(key.id) has another secret or role")
            }
        }
        guard conflicts.isEmpty else { throw DataDirectoryImportError.conflicts(conflicts) }
        let sourceEmbedder = try documents?.metaValue("embedder")
        if !sourceDocuments.isEmpty, let sourceEmbedder, contents.documents > 0,
           let storedEmbedder = try await sharedDocuments.metaValue("embedder"), storedEmbedder != sourceEmbedder {
            throw DataDirectoryImportError.embedderMismatch(dataDirectory: sourceEmbedder, database: storedEmbedder)
        }

        let startedAt = marker.flatMap { ownImport ? $0.startedAt : nil } ?? Date()
        try await sharedDocuments.setMetaValue(PostgresImportTarget.markerKey,
                                               ImportMarker(dataDirectory: dataDirectory.path, startedAt: startedAt).encoded())
        if summary.resumed { progress("resuming the import of \(dataDirectory.path) begun \(startedAt.formatted(.iso8601))") }

        if let events {
            try await copyEvents(plans, from: events, to: target, summary: &summary)
            // After the retention stream that records them: `verify` checks one against the other.
            let pruned = try await events.prunedStreams(prefix: "")
            var start = pruned.startIndex
            while start < pruned.endIndex {
                let end = min(start + Self.prunedStreamsPerBatch, pruned.endIndex)
                summary.prunedStreams += try await target.insertPrunedStreams(Array(pruned[start..<end]))
                start = end
            }
            summary.prunedStreamsAlreadyPresent = pruned.count - summary.prunedStreams
            if !pruned.isEmpty {
                progress("tasks removed by retention: \(summary.prunedStreams) checkpoints copied, \(summary.prunedStreamsAlreadyPresent) already present")
            }
        }
        let (insertedKeys, revocations) = try await target.insertKeys(keys)
        summary.apiKeys = insertedKeys
        summary.revocations = revocations
        if !keys.isEmpty { progress("API keys: \(insertedKeys) copied, \(revocations) revocations recorded, \(keys.count - insertedKeys) already present") }
        if let documents, !sourceDocuments.isEmpty {
            if let sourceEmbedder { try await sharedDocuments.setMetaValue("embedder", sourceEmbedder) }
            let dimension = try await copyDocuments(from: documents, total: sourceDocuments.count, present: storedDocuments,
                                                    to: sharedDocuments, target: target, summary: &summary)
            // A fresh snapshot whenever this run wrote documents, or the previous run may have
            // stopped before writing one.
            if summary.documents > 0 || marker?.completedAt == nil, let dimension {
                progress("index snapshot: building from \(summary.passages) new and the stored passages (no re-embedding)")
                summary.snapshotGeneration = try await SharedIndexSnapshot.rebuild(in: sharedDocuments, dimension: dimension)
            }
        }
        try await sharedDocuments.setMetaValue(PostgresImportTarget.markerKey,
                                               ImportMarker(dataDirectory: dataDirectory.path, startedAt: startedAt, completedAt: Date()).encoded())
        return summary
    }

    private func copyEvents(_ plans: [StreamPlan], from events: SQLiteEventStore, to target: PostgresImportTarget,
                            summary: inout Summary) async throws {
        let pending = plans.filter { $0.copiedUpTo < $0.sourceVersion }
        summary.streamsAlreadyPresent = plans.count - pending.count
        let total = pending.reduce(Int64(0)) { $0 &+ ($1.sourceVersion &- $1.copiedUpTo) }
        var ticker = ProgressTicker()
        var batch: [[StoredEvent]] = []
        var batchEvents = 0, batchBytes = 0
        func flush(_ summary: inout Summary) async throws {
            guard !batch.isEmpty else { return }
            try await target.insertChained(batch)
            summary.events += batchEvents
            batch = []
            batchEvents = 0
            batchBytes = 0
        }
        for plan in pending {
            let stream = try await events.read(stream: plan.stream)
            // Checked again as read: the file is not trusted between the verification and now.
            if let problem = StreamChainVerification.breaks(in: stream).first {
                throw DataDirectoryImportError.brokenChains(file: ResearchEnvironment.eventStoreFileName, streams: [plan.stream],
                                                            first: problem.description)
            }
            if let bad = stream.first(where: { $0.type.utf8.contains(0) }) {
                throw DataDirectoryImportError.unstorable("an event of stream \(plan.stream) (version \(bad.version)) has a NUL in its type")
            }
            let run = stream.filter { $0.version > plan.copiedUpTo }
            // A long stream goes in slices of at most a batch, each its own transaction (a
            // slice continues the head the previous one committed).
            var start = run.startIndex
            while start < run.endIndex {
                var end = start, bytes = 0
                while end < run.endIndex, end - start < Self.eventsPerBatch,
                      end == start || bytes + run[end].payload.count <= Self.bytesPerBatch {
                    bytes += run[end].payload.count
                    end += 1
                }
                if !batch.isEmpty, batchEvents + (end - start) > Self.eventsPerBatch || batchBytes + bytes > Self.bytesPerBatch {
                    try await flush(&summary)
                    if ticker.due() { progress("events: \(summary.events) of \(total) copied (\(summary.streams) of \(pending.count) streams)") }
                }
                batch.append(Array(run[start..<end]))
                batchEvents += end - start
                batchBytes += bytes
                start = end
                if start < run.endIndex { try await flush(&summary) }
            }
            summary.streams += 1
        }
        try await flush(&summary)
        progress("events: \(summary.events) copied in \(summary.streams) streams (\(summary.streamsAlreadyPresent) streams already present)")
    }

    /// Copies the documents the database lacks, a few per transaction; returns the vectors'
    /// dimension (nil: no vector seen).
    private func copyDocuments(from documents: DocumentStore, total: Int, present: [String: StoredDocumentInfo],
                               to shared: PostgresDocumentStore, target: PostgresImportTarget, summary: inout Summary) async throws -> Int? {
        var dimension: Int?
        var ticker = ProgressTicker()
        var after: Int64 = 0
        while true {
            let page = try documents.documents(afterID: after, limit: Self.documentsPerBatch)
            guard let last = page.last else { break }
            after = last.id
            if dimension == nil { dimension = page.lazy.flatMap(\.chunks).first(where: { !$0.embedding.isEmpty })?.embedding.count }
            let missing = page.filter { present[$0.document.source] == nil }
            if !missing.isEmpty {
                _ = try await shared.write(upserts: missing.map { ($0.document, $0.chunks) }, deletions: [], touches: [])
            }
            // Also for documents an interrupted run copied but did not date yet.
            try await target.setIngestedAt(page.map { ($0.document.source, $0.ingestedAt) })
            summary.documents += missing.count
            summary.passages += missing.reduce(0) { $0 + $1.chunks.count }
            summary.documentsAlreadyPresent += page.count - missing.count
            if ticker.due() {
                progress("documents: \(summary.documents + summary.documentsAlreadyPresent) of \(total) (\(summary.passages) passages copied)")
            }
        }
        progress("documents: \(summary.documents) copied with \(summary.passages) passages and their vectors (\(summary.documentsAlreadyPresent) already present)")
        return dimension
    }

    /// At most one progress line a second.
    private struct ProgressTicker {
        private var last = ContinuousClock.now
        mutating func due() -> Bool {
            let now = ContinuousClock.now
            guard now - last >= .seconds(1) else { return false }
            last = now
            return true
        }
    }
}
