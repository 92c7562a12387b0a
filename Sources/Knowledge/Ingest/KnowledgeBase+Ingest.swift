import Foundation

extension KnowledgeBase {
    /// Files written to SQLite per transaction: large enough to amortize the commit, small
    /// enough that memory stays flat and a crash loses at most one batch of (unacknowledged) work.
    static let writeBatchSize = 48

    /// Ingests files and folders incrementally: unchanged files are not read again, changed
    /// files replace their chunks, and with `prune` documents whose files are gone are
    /// forgotten. Every batch is committed to SQLite before the indexes change; the index
    /// snapshot is written at the end. Searches see the indexes of the previous write until
    /// this one ends (also when it fails: then what it committed), never some of its batches.
    public func ingest(
        _ paths: [String],
        prune: Bool = false,
        relativeTo base: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
        progress: @Sendable (IngestProgress) -> Void = { _ in }
    ) async throws -> IngestSummary {
        // Pruning forgets every stored document whose file is missing *here*: on a knowledge
        // base shared by several machines that includes whatever the others ingested.
        if prune, changeFeed != nil {
            throw KnowledgeBaseError.invalidArgument(
                "prune is refused on a knowledge base shared through the database: it would forget documents ingested from other machines; remove documents with `ares remove --database`")
        }
        let store = try await beginWrite()
        defer { endWrite() }
        let clock = ContinuousClock()
        let started = clock.now
        var summary = IngestSummary()

        if storedEmbedderIdentity != embedder.identity {
            summary.reembeddedChunks = try await reembedIfNeeded(store)
        }

        let collection = SourceFileCollector.collect(paths, relativeTo: base)
        summary.skipped += collection.problems.map { .init(path: $0.path, reason: $0.reason) }
        summary.filesSeen = collection.files.count
        let stored = try await store.storedDocuments()

        // Decide from the file system alone what must be read.
        var toRead: [(file: SourceFile, previousHash: String?)] = []
        var touches: [(source: String, modifiedAt: Double)] = []
        for file in collection.files {
            if let known = stored[file.source], known.byteSize == file.byteSize, known.modifiedAt == file.modifiedAt {
                summary.unchanged += 1
            } else {
                toRead.append((file, stored[file.source]?.contentHash))
            }
        }

        var pending: [(document: DocumentRecord, chunks: [ChunkRecord], terms: [[String]])] = []
        var newVectors: [(id: UInt64, vector: [Float])] = []
        var filesDone = summary.unchanged
        let total = collection.files.count

        func flush() async throws {
            guard !pending.isEmpty || !touches.isEmpty else { return }
            let outcome = try await store.write(upserts: pending.map { ($0.document, $0.chunks) }, deletions: [], touches: touches)
            applyRemovals(outcome.removedChunkIDs, to: &newVectors)
            summary.chunksRemoved += outcome.removedChunkIDs.count
            for (entry, chunkIDs) in zip(pending, outcome.insertedChunkIDs) {
                for (position, chunkID) in chunkIDs.enumerated() {
                    indexes.keyword.add(id: UInt64(bitPattern: chunkID), terms: entry.terms[position])
                    newVectors.append((id: UInt64(bitPattern: chunkID), vector: entry.chunks[position].embedding))
                }
                summary.chunksAdded += chunkIDs.count
            }
            pending.removeAll(keepingCapacity: true)
            touches.removeAll()
        }

        let preparer = DocumentPreparer(embedder: embedder)
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        try await withThrowingTaskGroup(of: PreparedFile.self) { group in
            var next = 0
            func startNext() {
                guard next < toRead.count else { return }
                let item = toRead[next]
                next += 1
                group.addTask { await preparer.prepare(item.file, previousHash: item.previousHash) }
            }
            for _ in 0..<min(workers, toRead.count) { startNext() }
            while let prepared = try await group.next() {
                try Task.checkCancellation()
                switch prepared {
                case let .document(document, chunks, terms, note):
                    if stored[document.source] == nil { summary.added += 1 } else { summary.updated += 1 }
                    if let note { summary.notes.append(.init(path: document.source, reason: note)) }
                    pending.append((document, chunks, terms))
                case let .unchanged(source, modifiedAt):
                    summary.unchanged += 1
                    touches.append((source, modifiedAt))
                case let .skipped(path, reason):
                    summary.skipped.append(.init(path: path, reason: reason))
                }
                filesDone += 1
                if pending.count >= Self.writeBatchSize { try await flush() }
                progress(IngestProgress(
                    filesDone: filesDone, filesTotal: total, chunksAdded: summary.chunksAdded + pending.reduce(0) { $0 + $1.chunks.count },
                    elapsedSeconds: Self.seconds(clock.now - started)))
                startNext()
            }
        }
        try await flush()

        if prune {
            let present = Set(collection.files.map(\.source))
            let gone = try await store.storedDocuments().values
                .filter { !present.contains($0.source) && !FileManager.default.fileExists(atPath: $0.absolutePath) }
                .map(\.source)
            summary.removed = try await removeStored(gone, from: store, vectorsPending: &newVectors)
        }

        if !newVectors.isEmpty { try writableVectors().insert(batch: newVectors, threads: workers) }
        try await finishWrite(store)
        (summary.documents, summary.chunks) = try await store.counts()
        summary.seconds = Self.seconds(clock.now - started)
        return summary
    }

    /// Forgets the documents stored as `source` (or under it, for a folder). Returns the
    /// sources removed.
    public func remove(_ source: String) async throws -> [String] {
        let store = try await beginWrite()
        defer { endWrite() }
        let sources = try await store.sources(matching: SourceFileCollector.normalize(source))
        var none: [(id: UInt64, vector: [Float])] = []
        _ = try await removeStored(sources, from: store, vectorsPending: &none)
        try await finishWrite(store)
        return sources
    }

    private func removeStored(
        _ sources: [String], from store: any DocumentRepository, vectorsPending: inout [(id: UInt64, vector: [Float])]
    ) async throws -> Int {
        guard !sources.isEmpty else { return 0 }
        let outcome = try await store.write(upserts: [], deletions: sources, touches: [])
        applyRemovals(outcome.removedChunkIDs, to: &vectorsPending)
        return sources.count
    }

    private func applyRemovals(_ chunkIDs: [Int64], to pendingVectors: inout [(id: UInt64, vector: [Float])]) {
        guard !chunkIDs.isEmpty else { return }
        let ids = Set(chunkIDs.map { UInt64(bitPattern: $0) })
        indexes.keyword.remove(ids: ids)
        let vectors = writableVectors()
        for id in ids { vectors.remove(id: id) }
        pendingVectors.removeAll { ids.contains($0.id) }
    }

    /// Records the embedder, brings the indexes to the store's generation and saves them.
    /// On a shared repository, that is following its change feed up to the latest change
    /// (this write's own changes are already in the indexes and are skipped; other processes'
    /// writes since the last follow are applied), so the snapshot's generation is exactly what
    /// the indexes hold.
    private func finishWrite(_ store: any DocumentRepository) async throws {
        if storedEmbedderIdentity != embedder.identity {
            try await store.setMetaValue(Self.embedderMetaKey, embedder.identity)
            storedEmbedderIdentity = embedder.identity
        }
        if let changeFeed {
            try await applyChanges(from: changeFeed, store: store)
        } else {
            indexes.generation = try await store.generation()
        }
        try await saveSnapshotAfterWrite()
    }

    /// When the embedder changed since the chunks were stored, re-embeds every chunk and
    /// rebuilds the vector index, so old and new vectors are never mixed.
    private func reembedIfNeeded(_ store: any DocumentRepository) async throws -> Int {
        guard storedEmbedderIdentity != nil, storedEmbedderIdentity != embedder.identity else { return 0 }
        var chunks: [(id: Int64, text: String)] = []
        try await store.forEachChunk { chunks.append(($0.id, IndexedText.compose(title: $0.title, headingPath: $0.headingPath, text: $0.text))) }
        var updated: [(id: Int64, embedding: [Float])] = []
        updated.reserveCapacity(chunks.count)
        let batchSize = 256
        var start = 0
        while start < chunks.count {
            let batch = chunks[start..<min(chunks.count, start + batchSize)]
            let vectors = try await embedder.embed(batch.map(\.text))
            updated.append(contentsOf: zip(batch, vectors).map { ($0.id, $1) })
            start += batchSize
        }
        try await store.replaceEmbeddings(updated)
        try await store.setMetaValue(Self.embedderMetaKey, embedder.identity)
        storedEmbedderIdentity = embedder.identity
        indexes = try await SearchIndexes.rebuild(fromRepository: store, dimension: embedder.dimension)
        return updated.count
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
