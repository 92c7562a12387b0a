/// Why `ares models fetch` could not install a model: one line that says what went wrong and,
/// where there is one, what to do about it.
public enum ModelFetchError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The name, revision or endpoint given is not usable.
    case invalidReference(String)
    /// The hub has no such model, revision or required file (HTTP 404).
    case notFound(file: String, url: String)
    /// The hub answered with a status ares cannot use (5xx, a redirect without a target...).
    case refused(file: String, url: String, status: Int)
    /// The hub refused access (401/403): a gated or private model without a token, or with one
    /// that is not valid or has no access to it.
    case accessDenied(file: String, url: String, status: Int, tokenSent: Bool)
    /// The hub token given cannot be used (empty, not one word, unreadable file...).
    case invalidToken(String)
    /// The hub could not be reached, or the connection broke and retries did not finish the file.
    case unreachable(url: String, detail: String)
    /// The hub said nothing ares can check the file against.
    case noChecksum(file: String, url: String)
    /// The bytes received are not the ones the hub announced (the partial file was removed).
    case checksumMismatch(file: String, expected: String, actual: String)
    /// The model folder is there already, from another source or revision.
    case destinationExists(path: String)
    /// The model has neither tokenizer.json nor vocab.txt.
    case noTokenizer(repository: String)
    /// A file could not be written or read locally.
    case local(path: String, detail: String)

    public var description: String {
        switch self {
        case let .invalidReference(detail): detail
        case let .notFound(file, url): "not found: \(file) (HTTP 404 from \(url)); check the model name and --revision"
        case let .accessDenied(file, url, status, false):
            "the hub refused \(file) (HTTP \(status) from \(url)): a gated or private model needs a hub token: --token-file FILE or $HF_TOKEN "
                + "(for a gated model, accept its terms on the hub with that account first)"
        case let .accessDenied(file, url, status, true):
            "the hub refused \(file) (HTTP \(status) from \(url)) with the token given: the token is not valid, or its account has no access "
                + "to this model (a gated model's terms must be accepted on the hub first)"
        case let .invalidToken(detail): detail
        case let .refused(file, url, status): "the hub answered HTTP \(status) for \(file) (\(url))"
        case let .unreachable(url, detail): "cannot fetch \(url): \(detail)"
        case let .noChecksum(file, url):
            "the hub gave no checksum for \(file) (no X-Linked-Etag or ETag with a SHA-256 or git object id from \(url)); it was not installed"
        case let .checksumMismatch(file, expected, actual):
            "checksum mismatch for \(file): the hub announced \(expected), the download is \(actual); the partial file was removed, run again to download it anew"
        case let .destinationExists(path): "\(path) exists already and is not this model at this revision (remove it, or choose another --dir)"
        case let .noTokenizer(repository): "\(repository) has neither tokenizer.json nor vocab.txt: not a BERT-family sentence-transformers model ares can run"
        case let .local(path, detail): "\(path): \(detail)"
        }
    }
}
