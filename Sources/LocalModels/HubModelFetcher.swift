import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Downloads a sentence-transformers model from a Hugging Face hub into a model folder that
/// `--embedder local --embedding-model-dir` loads (`ares models fetch`).
///
/// The hub's layout: `{endpoint}/{repository}/resolve/{revision}/{file}`. What is relied on,
/// as `huggingface_hub` does:
/// - A HEAD of that URL (redirects not followed) names the file's checksum: for a file kept in
///   LFS (the weights), `X-Linked-Etag` is its SHA-256 and `X-Linked-Size` its size, and the
///   answer redirects to where the bytes are; for a small file kept in git, `ETag` is its git
///   object id (SHA-1 of "blob SIZE\0" + contents). A file with neither is not installed.
/// - `X-Repo-Commit` names the commit the revision resolved to; the other files are fetched
///   at that commit, so a branch moving during the fetch cannot mix two versions.
/// - The bytes' server honours `Range` (206); one that answers 200 is read from the start.
///
/// Resumable: each file is written to `NAME.partial` in a staging folder beside the target
/// (`.NAME.partial/`), kept when the connection breaks, and continued with a `Range` request
/// (up to `attemptsPerFile` times in one run, and again by the next run). Verified files stay
/// in the staging folder, so a second run fetches only what is missing. Once every file is
/// checked, the manifest is written and the staging folder renamed to the target in one step:
/// a model folder either is complete and checked or is not there. Folders and files are
/// private to the owner (0700/0600). Gated and private models: `token` (`HubToken`).
public struct HubModelFetcher: Sendable {
    /// One moment of a file's download, for a progress display.
    public struct Progress: Sendable {
        public var file: String
        public var received: Int64
        /// Nil when the hub did not say.
        public var total: Int64?
    }

    /// What a fetch did.
    public struct Outcome: Sendable {
        public var directory: URL
        public var manifest: InstalledModelManifest
        /// True when the folder was there already with this model at this revision.
        public var alreadyInstalled: Bool
    }

    /// The files a model folder needs; fetching fails without them.
    public static let requiredFiles = ["config.json", "model.safetensors"]
    /// At least one of these (the fast tokenizer's file, or the WordPiece vocabulary).
    public static let tokenizerFiles = ["tokenizer.json", "vocab.txt"]
    /// Fetched when the model has them: pooling, sequence length, tokenizer settings.
    public static let optionalFiles = ["modules.json", "sentence_bert_config.json", "1_Pooling/config.json", "tokenizer_config.json",
                                       "special_tokens_map.json", "config_sentence_transformers.json"]

    public var endpoint: URL
    /// Sent to the endpoint's origin only (`sendsToken(to:)`).
    public var token: HubToken?
    public var attemptsPerFile: Int
    /// The largest file ares accepts (the hub's size is checked before the download starts).
    public var maximumFileBytes: Int64

    public static let defaultEndpoint = "https://huggingface.co"

    /// Refuses a token for a plain-http endpoint that is not on this machine: it would cross
    /// the network readable by anyone on the path.
    public init(endpoint: URL, token: HubToken? = nil, attemptsPerFile: Int = 3, maximumFileBytes: Int64 = 8 << 30) throws(ModelFetchError) {
        if token != nil, endpoint.scheme?.lowercased() != "https", !Self.isLoopback(endpoint.host ?? "") {
            throw .invalidToken("a hub token is sent only over https (or to a hub on this machine), not to \(endpoint.absoluteString)")
        }
        self.endpoint = endpoint
        self.token = token
        self.attemptsPerFile = max(1, attemptsPerFile)
        self.maximumFileBytes = maximumFileBytes
    }

    static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased()
        return host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
    }

    /// True for a URL on the endpoint's origin (scheme, host, port): the token goes there and
    /// nowhere else, so a redirect to the storage that serves the bytes (another host) does not
    /// carry it, as huggingface_hub's HTTP client drops it on a redirect to another host.
    func sendsToken(to url: URL) -> Bool {
        guard token != nil else { return false }
        func origin(_ url: URL) -> (String, String, Int)? {
            guard let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased() else { return nil }
            return (scheme, host, url.port ?? (scheme == "https" ? 443 : 80))
        }
        guard let target = origin(url), let hub = origin(endpoint) else { return false }
        return target == hub
    }

    /// The error for a status that ends a fetch: access denied (401/403) says whether a token went.
    func refusal(file: String, url: URL, status: UInt) -> ModelFetchError {
        if status == 401 || status == 403 {
            return .accessDenied(file: file, url: url.absoluteString, status: Int(clamping: status), tokenSent: sendsToken(to: url))
        }
        return .refused(file: file, url: url.absoluteString, status: Int(clamping: status))
    }

    /// Checks an endpoint given by a user: an http or https URL with a host.
    public static func endpoint(_ text: String) throws(ModelFetchError) -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil else {
            throw .invalidReference("--endpoint must be an http or https URL such as \(defaultEndpoint), not \(HubModelReference.quoted(text))")
        }
        return url
    }

    /// Fetches `reference` into `directory` (created; its parent too), reporting progress.
    public func fetch(_ reference: HubModelReference, into directory: URL,
                      progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws(ModelFetchError) -> Outcome {
        if FileManager.default.fileExists(atPath: directory.path) {
            if let manifest = try InstalledModelManifest.read(in: directory), manifest.repository == reference.repository,
               manifest.revision == reference.revision || manifest.commit == reference.revision,
               manifest.problems(in: directory, checksums: false).isEmpty {
                return Outcome(directory: directory, manifest: manifest, alreadyInstalled: true)
            }
            throw .destinationExists(path: directory.path)
        }
        let parent = directory.deletingLastPathComponent()
        let staging = parent.appendingPathComponent(".\(directory.lastPathComponent).partial")
        try Self.makePrivateDirectory(staging)

        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.clientConfiguration)
        do {
            let manifest = try await fetchFiles(reference, into: staging, client: client, progress: progress)
            try? await client.shutdown()
            try manifest.write(in: staging)
            do {
                try FileManager.default.moveItem(at: staging, to: directory)
            } catch {
                throw ModelFetchError.local(path: directory.path, detail: "cannot move the checked files into place (\(ModelFiles.describe(error)))")
            }
            return Outcome(directory: directory, manifest: manifest, alreadyInstalled: false)
        } catch {
            try? await client.shutdown()
            throw error as? ModelFetchError ?? .local(path: staging.path, detail: "\(error)")
        }
    }

    /// Redirects are followed by hand: the first answer carries the checksum headers, and a
    /// relative redirect (a renamed repository) is resolved against the URL asked.
    static let clientConfiguration: HTTPClient.Configuration = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(15), read: .seconds(60))
        // A refused connection is reported at once (the pool would retry until the connect
        // timeout); the download's own attempts resume a broken transfer.
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }()

    /// Redirects followed per request, at most.
    static let maximumRedirects = 5

    private func fetchFiles(_ reference: HubModelReference, into staging: URL, client: HTTPClient,
                            progress: @escaping @Sendable (Progress) -> Void) async throws(ModelFetchError) -> InstalledModelManifest {
        var revision = reference.revision
        var commit: String?
        var files: [InstalledModelManifest.File] = []
        var hasTokenizer = false
        for name in Self.requiredFiles + Self.tokenizerFiles + Self.optionalFiles {
            let url = reference.resolveURL(endpoint: endpoint, revision: revision, file: name)
            guard let announced = try await probe(url, file: name, client: client) else {
                if Self.requiredFiles.contains(name) { throw .notFound(file: name, url: url.absoluteString) }
                continue
            }
            // The first answer pins the commit: every later file comes from the same one.
            if commit == nil, let resolved = announced.commit {
                commit = resolved
                revision = resolved
            }
            if Self.tokenizerFiles.contains(name) { hasTokenizer = true }
            files.append(try await download(announced, file: name, into: staging, client: client, progress: progress))
        }
        guard hasTokenizer else { throw .noTokenizer(repository: reference.repository) }
        return InstalledModelManifest(repository: reference.repository, revision: reference.revision, commit: commit,
                                      endpoint: endpoint.absoluteString, fetchedAt: ISO8601DateFormatter().string(from: Date()), files: files)
    }

    /// What the hub says about a file before it is downloaded.
    struct Announcement {
        var location: URL
        var checksum: Checksum
        var size: Int64?
        var commit: String?
    }

    enum Checksum: Equatable {
        case sha256(String)
        case gitSHA1(String)

        var text: String {
            switch self {
            case let .sha256(hex): "sha256:\(hex)"
            case let .gitSHA1(hex): "git-sha1:\(hex)"
            }
        }
    }

    /// HEAD of the file's URL: nil for 404, else where its bytes are and how to check them.
    func probe(_ url: URL, file: String, client: HTTPClient) async throws(ModelFetchError) -> Announcement? {
        var current = url
        for _ in 0...Self.maximumRedirects {
            let response = try await send(current, method: .HEAD, range: nil, client: client)
            let headers = response.headers
            let checksum = Self.checksum(headers)
            let size = Self.header(headers, "X-Linked-Size").flatMap { Int64($0) } ?? Self.header(headers, "Content-Length").flatMap { Int64($0) }
            let commit = Self.header(headers, "X-Repo-Commit").flatMap { Self.isHex($0, length: 40) ? $0.lowercased() : nil }
            switch response.status.code {
            case 200:
                guard let checksum else { throw .noChecksum(file: file, url: current.absoluteString) }
                return Announcement(location: current, checksum: checksum, size: size, commit: commit)
            case 301, 302, 303, 307, 308:
                guard let target = Self.header(headers, "Location").flatMap({ URL(string: $0, relativeTo: current)?.absoluteURL }),
                      target.scheme == "http" || target.scheme == "https" else {
                    throw .refused(file: file, url: current.absoluteString, status: Int(response.status.code))
                }
                // An LFS file's answer names its checksum and redirects to the bytes; a renamed
                // repository's redirects to its new name, which is asked again.
                if let checksum { return Announcement(location: target, checksum: checksum, size: size, commit: commit) }
                current = target
            case 404:
                return nil
            default:
                throw refusal(file: file, url: current, status: response.status.code)
            }
        }
        throw .unreachable(url: url.absoluteString, detail: "more than \(Self.maximumRedirects) redirects")
    }

    /// Downloads one announced file into `staging`, resuming a partial one, and checks it.
    func download(_ announced: Announcement, file: String, into staging: URL, client: HTTPClient,
                  progress: @escaping @Sendable (Progress) -> Void) async throws(ModelFetchError) -> InstalledModelManifest.File {
        if let size = announced.size, size > maximumFileBytes {
            throw .refused(file: file, url: announced.location.absoluteString, status: 413)
        }
        let target = staging.appendingPathComponent(file)
        let partial = staging.appendingPathComponent(file + ".partial")
        try Self.makePrivateDirectory(target.deletingLastPathComponent())
        // Checked in an earlier run: kept as it is.
        if FileManager.default.fileExists(atPath: target.path), let done = try? verified(target, announced: announced, file: file) {
            progress(Progress(file: file, received: done.size, total: done.size))
            return done
        }
        var lastFailure: String?
        for _ in 0..<attemptsPerFile {
            do {
                try await transfer(announced, file: file, to: partial, client: client, progress: progress)
                lastFailure = nil
                break
            } catch let failure as TransferFailure {
                lastFailure = failure.detail
            } catch let error as ModelFetchError {
                throw error
            } catch {
                throw .local(path: partial.path, detail: "\(error)")
            }
        }
        if let lastFailure {
            let received = Self.size(of: partial)
            let of = announced.size.map { " of \($0)" } ?? ""
            throw .unreachable(url: announced.location.absoluteString,
                               detail: "\(lastFailure) after \(received)\(of) bytes of \(file), \(attemptsPerFile) attempts; run again to resume")
        }
        let checked: InstalledModelManifest.File
        do {
            checked = try verified(partial, announced: announced, file: file)
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw error
        }
        do {
            try FileManager.default.moveItem(at: partial, to: target)
        } catch {
            throw .local(path: target.path, detail: "cannot move the checked file into place (\(ModelFiles.describe(error)))")
        }
        return checked
    }

    /// A broken connection or stalled read: worth another attempt from where it stopped.
    struct TransferFailure: Error {
        var detail: String
    }

    /// One GET of the file's bytes from where `partial` ends, to its end (as far as its
    /// announced size says). A broken transfer throws `TransferFailure`, anything else a
    /// `ModelFetchError`.
    private func transfer(_ announced: Announcement, file: String, to partial: URL, client: HTTPClient,
                          progress: @escaping @Sendable (Progress) -> Void) async throws {
        var offset = Self.size(of: partial)
        if let expected = announced.size, offset > expected {
            // Longer than the file: not a prefix of it.
            try? FileManager.default.removeItem(at: partial)
            offset = 0
        }
        if let expected = announced.size, offset == expected { return }
        var current = announced.location
        for _ in 0...Self.maximumRedirects {
            let response: HTTPClientResponse
            switch await sendCatching(current, range: offset > 0 ? offset : nil, client: client) {
            case let .success(answer): response = answer
            // Unreachable for a moment (a connection refused between attempts): worth another attempt.
            case let .failure(.unreachable(_, detail)): throw TransferFailure(detail: detail)
            case let .failure(error): throw error
            }
            switch response.status.code {
            case 200, 206:
                let resumed = response.status.code == 206 && Self.contentRangeStart(response.headers) == offset
                if !resumed { offset = 0 }
                return try await write(response, file: file, to: partial, from: offset, total: announced.size, progress: progress)
            case 301, 302, 303, 307, 308:
                guard let target = Self.header(response.headers, "Location").flatMap({ URL(string: $0, relativeTo: current)?.absoluteURL }),
                      target.scheme == "http" || target.scheme == "https" else {
                    throw ModelFetchError.refused(file: file, url: current.absoluteString, status: Int(response.status.code))
                }
                current = target
            case 416:
                // Nothing left past the offset: what is there is checked (and refused if it is not the file).
                return
            case 404:
                throw ModelFetchError.notFound(file: file, url: current.absoluteString)
            default:
                throw refusal(file: file, url: current, status: response.status.code)
            }
        }
        throw ModelFetchError.unreachable(url: announced.location.absoluteString, detail: "more than \(Self.maximumRedirects) redirects")
    }

    /// Streams a response body into `partial` from `offset` (0: the file anew).
    private func write(_ response: HTTPClientResponse, file: String, to partial: URL, from offset: Int64, total: Int64?,
                       progress: @escaping @Sendable (Progress) -> Void) async throws {
        let handle: FileHandle
        do {
            if offset == 0 || !FileManager.default.fileExists(atPath: partial.path) {
                guard FileManager.default.createFile(atPath: partial.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                    throw ModelFetchError.local(path: partial.path, detail: "cannot create the file")
                }
            }
            handle = try FileHandle(forWritingTo: partial)
            try handle.truncate(atOffset: UInt64(max(0, offset)))
            try handle.seekToEnd()
        } catch let error as ModelFetchError {
            throw error
        } catch {
            throw ModelFetchError.local(path: partial.path, detail: "cannot write (\(ModelFiles.describe(error)))")
        }
        defer { try? handle.close() }
        var received = offset
        let limit = min(total ?? maximumFileBytes, maximumFileBytes)
        do {
            for try await chunk in response.body {
                received += Int64(chunk.readableBytes)
                // A server sending more than it announced is not sending this file.
                guard received <= limit else {
                    throw ModelFetchError.unreachable(url: file, detail: "the server sent more than the \(limit) bytes announced")
                }
                do {
                    try handle.write(contentsOf: Data(chunk.readableBytesView))
                } catch {
                    throw ModelFetchError.local(path: partial.path, detail: "cannot write (\(ModelFiles.describe(error)))")
                }
                progress(Progress(file: file, received: received, total: total))
            }
        } catch let error as ModelFetchError {
            throw error
        } catch is CancellationError {
            throw ModelFetchError.unreachable(url: file, detail: "cancelled")
        } catch {
            try? handle.synchronize()
            throw TransferFailure(detail: "the connection broke (\(error))")
        }
        try? handle.synchronize()
        if let total, received < total {
            throw TransferFailure(detail: "the connection closed early")
        }
    }

    /// Checks the file's size and checksum against the announcement; its manifest entry.
    private func verified(_ url: URL, announced: Announcement, file: String) throws(ModelFetchError) -> InstalledModelManifest.File {
        let size = Self.size(of: url)
        let sha256: String
        let actual: Checksum
        do {
            sha256 = try FileDigest.sha256(of: url)
            switch announced.checksum {
            case .sha256: actual = .sha256(sha256)
            case .gitSHA1: actual = .gitSHA1(try FileDigest.gitBlobSHA1(of: url, size: size))
            }
        } catch {
            throw .local(path: url.path, detail: "cannot read it back (\(ModelFiles.describe(error)))")
        }
        guard actual == announced.checksum else {
            throw .checksumMismatch(file: file, expected: announced.checksum.text, actual: actual.text)
        }
        if let expected = announced.size, expected != size {
            throw .checksumMismatch(file: file, expected: "\(expected) bytes", actual: "\(size) bytes")
        }
        return InstalledModelManifest.File(path: file, size: size, sha256: sha256, hubChecksum: announced.checksum.text)
    }

    private func sendCatching(_ url: URL, range: Int64?, client: HTTPClient) async -> Result<HTTPClientResponse, ModelFetchError> {
        do {
            return .success(try await send(url, method: .GET, range: range, client: client))
        } catch {
            return .failure(error)
        }
    }

    private func send(_ url: URL, method: HTTPMethod, range: Int64?, client: HTTPClient) async throws(ModelFetchError) -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        request.headers.add(name: "User-Agent", value: "ares-models-fetch")
        // The bytes as stored: a compressed answer would not match the announced checksum or size.
        request.headers.add(name: "Accept-Encoding", value: "identity")
        if let range { request.headers.add(name: "Range", value: "bytes=\(range)-") }
        if let token, sendsToken(to: url) { request.headers.add(name: "Authorization", value: "Bearer \(token.value)") }
        do {
            return try await client.execute(request, timeout: .hours(24))
        } catch is CancellationError {
            throw .unreachable(url: url.absoluteString, detail: "cancelled")
        } catch {
            throw .unreachable(url: url.absoluteString, detail: Self.describe(error))
        }
    }

    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("connectTimeout") { return "no answer (connection timed out)" }
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if text.contains("NXDOMAIN") || text.contains("lookup") { return "the host name does not resolve" }
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }

    /// The checksum the headers announce: X-Linked-Etag (LFS: SHA-256), else ETag (SHA-256 for a
    /// file served straight from LFS storage, a git object id for a file in git).
    static func checksum(_ headers: HTTPHeaders) -> Checksum? {
        for name in ["X-Linked-Etag", "ETag"] {
            guard let raw = header(headers, name) else { continue }
            var value = Substring(raw)
            if value.hasPrefix("W/") { value = value.dropFirst(2) }
            value = value.drop { $0 == "\"" }
            while value.last == "\"" { value = value.dropLast() }
            let hex = String(value).lowercased()
            if isHex(hex, length: 64) { return .sha256(hex) }
            if isHex(hex, length: 40) { return .gitSHA1(hex) }
        }
        return nil
    }

    static func header(_ headers: HTTPHeaders, _ name: String) -> String? {
        headers.first(name: name).map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    static func isHex(_ text: String, length: Int) -> Bool {
        text.utf8.count == length && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) || (65...70).contains($0) }
    }

    /// The first byte of "Content-Range: bytes START-END/TOTAL".
    static func contentRangeStart(_ headers: HTTPHeaders) -> Int64? {
        guard let value = header(headers, "Content-Range"), value.hasPrefix("bytes ") else { return nil }
        return value.dropFirst(6).split(separator: "-").first.flatMap { Int64($0) }
    }

    static func size(of url: URL) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    static func makePrivateDirectory(_ url: URL) throws(ModelFetchError) {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .local(path: url.path, detail: "cannot create the folder (\(ModelFiles.describe(error)))")
        }
    }
}
