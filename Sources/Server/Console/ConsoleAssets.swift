import Foundation

/// The web console's files, decoded once from the binary: each with its media type, its
/// bytes plain and gzip-compressed, and an ETag per encoding (the SHA-256 of its content).
public struct ConsoleAssets: Sendable {
    public struct Asset: Sendable {
        public var name: String
        public var mediaType: String
        public var body: Data
        public var gzipBody: Data
        public var etag: String
        public var gzipETag: String
    }

    /// By file name (`index.html`, `app.js`, ...).
    public let assets: [String: Asset]

    public init() {
        var assets: [String: Asset] = [:]
        for file in ConsoleAssetFiles.all {
            // The generator wrote valid base64; a file that does not decode is left out (and
            // ConsoleAssetsTests fails) rather than served broken.
            guard let body = Data(base64Encoded: file.base64), let gzipBody = Data(base64Encoded: file.gzipBase64) else { continue }
            let tag = String(file.sha256.prefix(32))
            assets[file.name] = Asset(name: file.name, mediaType: file.mediaType, body: body, gzipBody: gzipBody,
                                      etag: "\"\(tag)\"", gzipETag: "\"\(tag)-gz\"")
        }
        self.assets = assets
    }

    public subscript(name: String) -> Asset? { assets[name] }
}
