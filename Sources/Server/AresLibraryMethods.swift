import Audit
import Foundation
import Knowledge

/// The knowledge base's documents as a library: list them with their passage counts, and
/// (admins) upload documents to ingest. Upload exists because `ares/ingest` reads paths on
/// the server's disk, which a remote client (the console in a browser) cannot put files on.
public struct AresLibraryMethods: Sendable {
    public var knowledge: KnowledgeBase
    /// The folder uploaded documents are written to before they are ingested (inside the data
    /// directory, so that a re-ingest or `--prune` of it keeps them).
    public var uploadFolder: URL

    public static let maximumDocumentsPerUpload = 20
    static let uploadableExtensions: Set<String> = ["md", "markdown", "txt", "text", "html", "htm"]

    public init(knowledge: KnowledgeBase) {
        self.knowledge = knowledge
        uploadFolder = knowledge.dataDirectory.appendingPathComponent("uploads", isDirectory: true)
    }

    struct ListParams: Decodable {
        var offset: Int?
        var limit: Int?
    }

    struct DocumentList: Encodable {
        struct Document: Encodable {
            var source: String
            var title: String
            var format: String
            var byteSize: Int64
            var passages: Int
            var ingestedAt: String

            init(_ summary: DocumentSummary) {
                source = summary.source
                title = summary.title
                format = summary.format
                byteSize = summary.byteSize
                passages = summary.passages
                ingestedAt = RFC3339.string(from: summary.ingestedAt)
            }
        }
        var total: Int
        var offset: Int
        var documents: [Document]
    }

    struct UploadParams: Decodable {
        struct Document: Decodable {
            var name: String
            var text: String
        }
        var documents: [Document]
    }

    public var methods: [JSONRPCMethod] {
        [
            JSONRPCMethod("ares/listDocuments", permission: .search) { request in
                let params = try request.optionalParams(ListParams.self) ?? ListParams()
                let offset = params.offset ?? 0
                let limit = params.limit ?? 50
                guard offset >= 0 else { throw JSONRPCError.invalidParams("offset: must not be negative (got \(offset))") }
                guard (1...200).contains(limit) else { throw JSONRPCError.invalidParams("limit: must be between 1 and 200 (got \(limit))") }
                let page = try await knowledge.documents(offset: offset, limit: limit)
                return .result(try JSONRPCResponseWriter.encode(DocumentList(total: page.total, offset: offset, documents: page.documents.map(DocumentList.Document.init))))
            },
            JSONRPCMethod("ares/uploadDocuments", permission: .ingest) { request in
                let params = try request.params(UploadParams.self)
                guard (1...Self.maximumDocumentsPerUpload).contains(params.documents.count) else {
                    throw JSONRPCError.invalidParams("documents: give between 1 and \(Self.maximumDocumentsPerUpload) documents (got \(params.documents.count))")
                }
                for (index, document) in params.documents.enumerated() {
                    if let problem = Self.problem(withName: document.name) {
                        throw JSONRPCError.invalidParams("documents[\(index)].name: \(problem)")
                    }
                    guard !document.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                        throw JSONRPCError.invalidParams("documents[\(index)].text: the document is empty")
                    }
                }
                AuditNotes.current?.add(["uploaded": params.documents.prefix(10).map(\.name).joined(separator: ", "),
                                         "uploadCount": String(params.documents.count)])
                let paths = try write(params.documents)
                let summary = try await knowledge.ingest(paths, relativeTo: knowledge.dataDirectory)
                AuditNotes.current?.add(["added": String(summary.added), "updated": String(summary.updated)])
                return .result(try JSONRPCResponseWriter.encode(summary))
            },
        ]
    }

    /// What is wrong with an uploaded document's name, if anything: it must be a plain file
    /// name (no folder, no leading dot) of a format ares reads.
    static func problem(withName name: String) -> String? {
        guard !name.isEmpty, name.utf8.count <= 200 else { return "a file name of 1 to 200 bytes is required" }
        guard name.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || (48...57).contains($0.value) || "._- ".unicodeScalars.contains($0) }) else {
            return "'\(name.prefix(200))' may contain only letters, digits, spaces, '.', '_' and '-' (no folders)"
        }
        guard !name.hasPrefix("."), !name.hasPrefix(" ") else { return "'\(name)' must not start with a dot or a space" }
        let suffix = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
        guard name.contains("."), uploadableExtensions.contains(suffix) else {
            return "'\(name)' must end in one of \(uploadableExtensions.sorted().map { "." + $0 }.joined(separator: ", "))"
        }
        return nil
    }

    /// Writes the documents into the upload folder (readable by the server's user only) and
    /// returns their paths. A document of the same name is replaced: ingest sees it changed.
    private func write(_ documents: [UploadParams.Document]) throws -> [String] {
        let manager = FileManager.default
        try manager.createDirectory(at: uploadFolder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return try documents.map { document in
            let url = uploadFolder.appendingPathComponent(document.name, isDirectory: false)
            try Data(document.text.utf8).write(to: url, options: .atomic)
            try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
            return url.path
        }
    }
}
