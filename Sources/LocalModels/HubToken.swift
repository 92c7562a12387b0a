import Foundation

/// An access token for a Hugging Face hub, which gated and private models need
/// (`ares models fetch --token-file FILE`, else `$HF_TOKEN`, as huggingface_hub reads it).
///
/// Never a flag value (it would show in `ps` and shell history), never printed: its
/// description is a placeholder, and errors name where it came from, not what it is.
/// `HubModelFetcher` sends it only to the hub's own address (scheme, host and port of the
/// endpoint), not to the storage a download is redirected to, and only over https unless the
/// hub is on this machine.
public struct HubToken: Sendable, CustomStringConvertible {
    /// What goes after "Bearer ".
    let value: String

    /// Longer than any hub token (hf_ + 34 characters today); a file this long is not one.
    static let maximumLength = 4_096

    /// Checks a token read from `source` (for the error message): surrounding whitespace is
    /// dropped (a file ends with a newline); what is left must be visible ASCII, since it goes
    /// into an HTTP header, where a line break would start another header.
    public init(_ text: String, source: String) throws(ModelFetchError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .invalidToken("the hub token from \(source) is empty") }
        guard trimmed.utf8.count <= Self.maximumLength else {
            throw .invalidToken("the hub token from \(source) is longer than \(Self.maximumLength) bytes: not a token")
        }
        guard trimmed.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw .invalidToken("the hub token from \(source) has spaces, line breaks or non-ASCII characters inside; a token is one word")
        }
        value = trimmed
    }

    public var description: String { "<hub token>" }

    /// The token from `--token-file` (`file`), else from `$HF_TOKEN`; nil when neither is given.
    public static func load(file: String?, environment: [String: String]) throws(ModelFetchError) -> HubToken? {
        if let file {
            let url = URL(fileURLWithPath: file)
            let data: Data
            do {
                // A token file is a few dozen bytes; a large file is refused before it is read.
                let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
                guard size <= maximumLength + 2 else {
                    throw ModelFetchError.invalidToken("the hub token file \(file) is \(size) bytes: not a token")
                }
                data = try Data(contentsOf: url)
            } catch let error as ModelFetchError {
                throw error
            } catch {
                throw .invalidToken("cannot read the hub token file \(file) (\(ModelFiles.describe(error)))")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw .invalidToken("the hub token file \(file) is not UTF-8 text")
            }
            return try HubToken(text, source: "the file \(file)")
        }
        if let text = environment["HF_TOKEN"] {
            return try HubToken(text, source: "$HF_TOKEN")
        }
        return nil
    }
}
