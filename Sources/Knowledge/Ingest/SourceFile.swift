import Foundation

/// A file found for ingestion: how it will be named in the knowledge base and what the file
/// system says about it (enough to tell an unchanged file without reading it).
public struct SourceFile: Sendable, Equatable {
    /// The path as ingested: the argument the user gave, joined with the path inside it.
    public var source: String
    /// How the document is named to others (remote clients, reports): relative to the folder
    /// that was ingested, starting with that folder's name, never the machine's absolute path.
    public var displaySource: String
    public var absolutePath: String
    public var byteSize: Int64
    public var modifiedAt: Double
}

/// Finds the files under the paths a user names: recursively, skipping hidden files and
/// folders (`.git`, `.ares`), never following a symbolic link to a folder (no cycles).
public enum SourceFileCollector {
    public struct Collection: Sendable {
        public var files: [SourceFile] = []
        /// Paths that could not be walked, with the reason.
        public var problems: [(path: String, reason: String)] = []
    }

    public static func collect(_ paths: [String], relativeTo base: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) -> Collection {
        var collection = Collection()
        var seen = Set<String>()
        for path in paths {
            let source = normalize(path)
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                collection.problems.append((path, "no such file or directory"))
                continue
            }
            if !isDirectory.boolValue {
                let display = source.hasPrefix("/") ? url.lastPathComponent : shareable(source)
                switch describe(url, source: source, displaySource: display) {
                case let .success(file): if seen.insert(file.absolutePath).inserted { collection.files.append(file) }
                case let .failure(problem): collection.problems.append((path, problem.reason))
                }
                continue
            }
            guard let enumerator = FileManager.default.enumerator(
                at: url, includingPropertiesForKeys: [.isDirectoryKey, .isSymbolicLinkKey],
                options: [.skipsHiddenFiles]
            ) else {
                collection.problems.append((path, "cannot list the folder"))
                continue
            }
            let rootPath = url.standardizedFileURL.path
            var found: [SourceFile] = []
            for case let fileURL as URL in enumerator {
                let values = try? fileURL.resourceValues(forKeys: [.isDirectoryKey])
                if values?.isDirectory == true { continue }
                let filePath = fileURL.standardizedFileURL.path
                let relative = filePath.hasPrefix(rootPath + "/") ? String(filePath.dropFirst(rootPath.count + 1)) : fileURL.lastPathComponent
                let fileSource = source.isEmpty || source == "." ? relative : source + "/" + relative
                let rootName = source.hasPrefix("/") ? url.standardizedFileURL.lastPathComponent : ""
                let display = source.hasPrefix("/") ? (rootName.isEmpty || rootName == "/" ? relative : rootName + "/" + relative) : shareable(fileSource)
                switch describe(fileURL, source: fileSource, displaySource: display) {
                case let .success(file): if seen.insert(file.absolutePath).inserted { found.append(file) }
                case let .failure(problem): collection.problems.append((fileSource, problem.reason))
                }
            }
            collection.files.append(contentsOf: found.sorted { $0.source < $1.source })
        }
        return collection
    }

    struct Problem: Error { var reason: String }

    /// A relative path without the leading `..` steps that would tell where the server's
    /// working directory is.
    static func shareable(_ relativePath: String) -> String {
        let parts = relativePath.split(separator: "/").drop { $0 == ".." }
        return parts.isEmpty ? relativePath : parts.joined(separator: "/")
    }

    /// The name to show for a source stored before display names were recorded: a relative
    /// source as it is, an absolute one by its file name only.
    public static func displayName(forStoredSource source: String) -> String {
        source.hasPrefix("/") ? String(source.split(separator: "/").last ?? "") : shareable(source)
    }

    static func describe(_ url: URL, source: String, displaySource: String) -> Result<SourceFile, Problem> {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path) else {
            let isLink = (try? FileManager.default.destinationOfSymbolicLink(atPath: url.path)) != nil
            return .failure(Problem(reason: isLink ? "broken symbolic link" : "cannot read its attributes"))
        }
        guard let type = attributes[.type] as? FileAttributeType, type == .typeRegular else {
            return .failure(Problem(reason: "not a regular file"))
        }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return .success(SourceFile(source: source, displaySource: displaySource, absolutePath: url.standardizedFileURL.path,
                                   byteSize: size, modifiedAt: modified))
    }

    /// "./docs//a/" becomes "docs/a": one spelling per path, so re-ingesting the same folder
    /// spelled differently finds the same documents.
    public static func normalize(_ path: String) -> String {
        let isAbsolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        if isAbsolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}
