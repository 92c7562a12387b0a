/// Where an ingest run stands, reported after every file.
public struct IngestProgress: Sendable {
    public var filesDone: Int
    public var filesTotal: Int
    public var chunksAdded: Int
    public var elapsedSeconds: Double
    /// Files per second so far, and the estimated seconds left at that rate.
    public var rate: Double { elapsedSeconds > 0 ? Double(filesDone) / elapsedSeconds : 0 }
    public var estimatedSecondsLeft: Double? {
        rate > 0 ? Double(filesTotal - filesDone) / rate : nil
    }
}

/// What an ingest run did, for the summary a user reads and the JSON a tool reads.
public struct IngestSummary: Sendable, Codable, Equatable {
    public struct SkippedFile: Sendable, Codable, Equatable {
        public var path: String
        public var reason: String
    }

    public var filesSeen = 0
    public var added = 0
    public var updated = 0
    public var unchanged = 0
    public var removed = 0
    public var chunksAdded = 0
    public var chunksRemoved = 0
    public var documents = 0
    public var chunks = 0
    public var reembeddedChunks = 0
    public var skipped: [SkippedFile] = []
    /// Files ingested with a caveat (e.g. invalid UTF-8 replaced).
    public var notes: [SkippedFile] = []
    public var seconds = 0.0

    public init() {}
}
