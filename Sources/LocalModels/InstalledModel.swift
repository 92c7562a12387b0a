import Foundation

/// A model folder under the models directory, as `ares models list` shows it: its size,
/// whether its files are the ones fetched, and the embedder identity its vectors get (which
/// says which knowledge base it fits).
public struct InstalledModel: Sendable {
    public var name: String
    public var directory: URL
    /// Nil for a folder ares did not fetch (copied by hand): it is listed, its files unchecked.
    public var manifest: InstalledModelManifest?
    public var size: Int64
    /// What is wrong with it; empty when its files are as fetched and the model loads.
    public var problems: [String]
    public var identity: String?

    public var isUsable: Bool { problems.isEmpty && identity != nil }

    /// The model folders in `modelsDirectory` (none when it does not exist), by name. Staging
    /// folders of unfinished fetches (".NAME.partial") are not models and are left out.
    /// `checksums` re-reads every file to compare its SHA-256 with the manifest's.
    public static func scan(_ modelsDirectory: URL, checksums: Bool) -> [InstalledModel] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: modelsDirectory.path)) ?? []
        return names.sorted().compactMap { name in
            guard !name.hasPrefix(".") else { return nil }
            let directory = modelsDirectory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
            return inspect(directory, checksums: checksums)
        }
    }

    /// One model folder.
    public static func inspect(_ directory: URL, checksums: Bool) -> InstalledModel {
        var problems: [String] = []
        var manifest: InstalledModelManifest?
        do {
            manifest = try InstalledModelManifest.read(in: directory)
        } catch {
            problems.append(error.description)
        }
        if let manifest { problems += manifest.problems(in: directory, checksums: checksums) }
        var identity: String?
        do {
            identity = try LocalSentenceEmbedder.identity(directory: directory)
        } catch {
            problems.append(error.description)
        }
        return InstalledModel(name: directory.lastPathComponent, directory: directory, manifest: manifest,
                              size: manifest?.totalSize ?? folderSize(directory), problems: problems, identity: identity)
    }

    static func folderSize(_ directory: URL) -> Int64 {
        guard let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.fileSizeKey]) else { return 0 }
        var total: Int64 = 0
        for case let url as URL in enumerator {
            total += Int64((try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0)
        }
        return total
    }
}
