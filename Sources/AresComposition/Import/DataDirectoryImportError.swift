/// Why `ares db import` refused or stopped, in one line a person can act on.
public enum DataDirectoryImportError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The directory has none of the files of an ares data directory.
    case notADataDirectory(path: String)
    /// Another ares process (a server, an ingest) holds the directory's lock.
    case dataDirectoryInUse(path: String, holder: String)
    /// The source's hash chains are broken: copying them would carry the damage over.
    case brokenChains(file: String, streams: [String], first: String)
    /// The database holds ares data of its own and the import was not told to add to it.
    case databaseNotEmpty(streams: Int, documents: Int, apiKeys: Int)
    /// What the data directory holds differs from what the database holds under the same names.
    case conflicts([String])
    /// The data directory's vectors come from another embedder than the database's.
    case embedderMismatch(dataDirectory: String, database: String)
    /// A stream id, event type or document text PostgreSQL cannot store (a NUL character).
    case unstorable(String)

    public var description: String {
        switch self {
        case let .notADataDirectory(path):
            return "\(path) is not an ares data directory (it has no tasks.sqlite, knowledge.sqlite or access.sqlite)"
        case let .dataDirectoryInUse(path, holder):
            return "\(path) is in use by another ares process (\(holder)): stop it (`ares serve` holds its data directory while it runs), then import"
        case let .brokenChains(file, streams, first):
            let named = streams.prefix(5).joined(separator: ", ") + (streams.count > 5 ? " and \(streams.count - 5) more" : "")
            return "\(file) has broken hash chains in \(streams.count == 1 ? "stream" : "streams") \(named) (\(first)); "
                + "nothing was imported: run `ares verify` on the data directory, restore it from a backup, then import"
        case let .databaseNotEmpty(streams, documents, apiKeys):
            return "the database already holds ares data (\(streams) event streams, \(documents) documents, \(apiKeys) API keys); "
                + "import into an empty database, or pass --allow-nonempty to add this data directory's data to it"
        case let .conflicts(conflicts):
            let named = conflicts.prefix(5).joined(separator: "; ") + (conflicts.count > 5 ? "; and \(conflicts.count - 5) more" : "")
            return "nothing was imported: the database holds other data under the same names (\(named))"
        case let .embedderMismatch(dataDirectory, database):
            return "nothing was imported: the data directory's passages were embedded with \(dataDirectory), the database's with \(database); "
                + "vectors of two embedders cannot be searched together"
        case let .unstorable(detail):
            return "nothing was imported: \(detail), which PostgreSQL text cannot hold"
        }
    }
}
