import Foundation

/// A model on a Hugging Face hub: its repository ("sentence-transformers/all-MiniLM-L6-v2", or a
/// legacy one-part name such as "bert-base-uncased") and a revision (a branch, tag or commit).
///
/// Both are checked before anything is asked of the network, since they become parts of URLs
/// and the repository's last part becomes a folder name: only the characters the hub allows in
/// names, no "." or ".." parts, no leading "-" (`ares models fetch -x`).
public struct HubModelReference: Sendable, Equatable {
    public let repository: String
    public let revision: String

    /// The hub's own limit on a repository name's parts.
    static let maximumNameLength = 96
    static let maximumRevisionLength = 255

    public init(repository: String, revision: String = "main") throws(ModelFetchError) {
        let parts = repository.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ Self.isName($0) }) else {
            throw .invalidReference("the model name must be OWNER/NAME (or NAME) of letters, digits, '.', '_' and '-', each part at most \(Self.maximumNameLength) characters, not \(Self.quoted(repository))")
        }
        let revisionParts = revision.split(separator: "/", omittingEmptySubsequences: false)
        guard !revision.isEmpty, revision.count <= Self.maximumRevisionLength, revisionParts.allSatisfy({ Self.isName($0) }) else {
            throw .invalidReference("the revision must be a branch, tag or commit of letters, digits, '.', '_', '-' and '/', not \(Self.quoted(revision))")
        }
        self.repository = repository
        self.revision = revision
    }

    /// The repository's last part: the folder name a fetched model gets by default.
    public var name: String {
        repository.split(separator: "/").last.map(String.init) ?? repository
    }

    /// `{endpoint}/{repository}/resolve/{revision}/{file}`: where the hub serves a file of the
    /// model at a revision (a revision with "/" such as "refs/pr/1" is one path segment).
    public func resolveURL(endpoint: URL, revision: String, file: String) -> URL {
        let encodedRevision = revision.addingPercentEncoding(withAllowedCharacters: Self.segmentCharacters) ?? revision
        var url = endpoint
        for part in repository.split(separator: "/") { url.appendPathComponent(String(part)) }
        url.appendPathComponent("resolve")
        // appendPathComponent would encode the "%" of "%2F" again; the segment is added verbatim.
        let base = url.absoluteString.hasSuffix("/") ? url.absoluteString : url.absoluteString + "/"
        let path = file.split(separator: "/").map { String($0).addingPercentEncoding(withAllowedCharacters: Self.segmentCharacters) ?? String($0) }
        return URL(string: base + encodedRevision + "/" + path.joined(separator: "/")) ?? url
    }

    private static let segmentCharacters: CharacterSet = {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._~")
        return allowed
    }()

    static func isName(_ part: Substring) -> Bool {
        guard !part.isEmpty, part.count <= maximumNameLength, part != ".", part != "..", part.first != "-", part.first != "." else { return false }
        return part.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "." || scalar == "_" || scalar == "-")
        }
    }

    /// A value from the command line, quoted for a message and cut short (it may be anything).
    static func quoted(_ value: String) -> String {
        let shown = value.count > 120 ? String(value.prefix(120)) + "…" : value
        return "“\(shown.unicodeScalars.map { $0.properties.isWhitespace && $0 != " " || $0.value < 0x20 ? "?" : String($0) }.joined())”"
    }
}
