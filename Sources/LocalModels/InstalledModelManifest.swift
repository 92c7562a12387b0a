import Foundation

/// What `ares models fetch` records in a model folder it installed (`ares-model.json`): where
/// the model came from and every file's size and SHA-256, so that `ares models list` can say
/// whether the files are still the ones fetched.
public struct InstalledModelManifest: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        /// The path inside the model folder ("1_Pooling/config.json").
        public var path: String
        public var size: Int64
        /// Lowercase hex SHA-256 of the file, computed by ares after the hub's check passed.
        public var sha256: String
        /// What the hub announced and the file was checked against: "sha256:…" (LFS files) or
        /// "git-sha1:…" (small files, the git object id).
        public var hubChecksum: String
    }

    public static let fileName = "ares-model.json"

    public var repository: String
    /// The revision asked for ("main") and the commit the hub resolved it to, when it said.
    public var revision: String
    public var commit: String?
    public var endpoint: String
    public var fetchedAt: String
    public var files: [File]

    public var totalSize: Int64 { files.reduce(0) { $0 + $1.size } }

    /// The manifest of the model folder `directory`, nil when it has none.
    public static func read(in directory: URL) throws(ModelFetchError) -> InstalledModelManifest? {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            let data = try Data(contentsOf: url)
            guard data.count <= ModelFiles.maximumConfigurationBytes else { throw ModelFetchError.local(path: url.path, detail: "too large for a manifest") }
            return try JSONDecoder().decode(InstalledModelManifest.self, from: data)
        } catch let error as ModelFetchError {
            throw error
        } catch {
            throw .local(path: url.path, detail: "not a readable manifest (\(ModelFiles.describe(error)))")
        }
    }

    func write(in directory: URL) throws(ModelFetchError) {
        let url = directory.appendingPathComponent(Self.fileName)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(self).write(to: url, options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
        } catch {
            throw .local(path: url.path, detail: "cannot write the manifest (\(ModelFiles.describe(error)))")
        }
    }

    /// What is wrong with the files of `directory` against this manifest: a missing file, a
    /// different size, and (with `checksums`) different contents. Empty when all is well.
    public func problems(in directory: URL, checksums: Bool) -> [String] {
        var problems: [String] = []
        for file in files {
            let url = directory.appendingPathComponent(file.path)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
                  let size = (attributes[.size] as? NSNumber)?.int64Value else {
                problems.append("\(file.path) is missing")
                continue
            }
            guard size == file.size else {
                problems.append("\(file.path) is \(size) bytes, \(file.size) were fetched")
                continue
            }
            if checksums, (try? FileDigest.sha256(of: url)) != file.sha256 {
                problems.append("\(file.path) has changed since it was fetched (SHA-256 differs)")
            }
        }
        return problems
    }
}
