import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A stand-in for the Hugging Face hub on 127.0.0.1, serving one model's files the way the hub
/// does (this machine has no route to the real one):
/// - `HEAD|GET /{repository}/resolve/{revision}/{file}`: a file kept in git answers 200 with its
///   git object id as `ETag`; an LFS file answers 302 to `/lfs/{sha256}` with `X-Linked-Etag`
///   (its SHA-256) and `X-Linked-Size`; both carry `X-Repo-Commit`. Unknown files: 404.
/// - `GET /lfs/{sha256}`: the bytes, honouring `Range: bytes=N-` with 206.
/// Faults for the tests: cut a file's next download after some bytes (the connection closes
/// mid-body), serve a file with one byte changed (the announced checksum stays the real one).
/// A gated model: `requiredToken` makes `/resolve/` answer 401 without `Authorization: Bearer
/// TOKEN` and 403 with another token; `lfsOnAnotherHost` redirects LFS files to
/// `http://localhost:PORT/lfs/…`, another origin than the endpoint's 127.0.0.1, as the real hub
/// redirects to its storage.
final class HubFixtureServer: Sendable {
    struct Request: Sendable {
        var method: String
        var path: String
        var range: String?
        var authorization: String?
    }

    struct Faults: Sendable {
        /// File → bytes after which its next body is cut (once).
        var cutAfter: [String: Int] = [:]
        /// Files served with their first byte changed.
        var corrupted: Set<String> = []
    }

    /// One answer: what the handler writes, and after how many body bytes it cuts the connection.
    struct Reply {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders = [:]
        var body = Data()
        var cutAfter: Int?
    }

    let repository: String
    let commit = String(repeating: "c0ffee", count: 7).prefix(40).description
    private let files: [String: Data]
    private let lfs: Set<String>
    private let requiredToken: String?
    private let lfsOnAnotherHost: Bool
    /// SHA-256 of each LFS file, by file.
    private let digests: [String: String]
    private let state = Mutex<(requests: [Request], faults: Faults)>(([], Faults()))
    /// Answers on NIO's event loop threads, never on Swift's cooperative pool: the tests wait for
    /// `ares` child processes synchronously, which can hold every cooperative thread.
    private let channel: any Channel

    var port: Int { channel.localAddress?.port ?? 0 }
    var endpoint: String { "http://127.0.0.1:\(port)" }
    var requests: [Request] { state.withLock { $0.requests } }

    func setFaults(_ faults: Faults) { state.withLock { $0.faults = faults } }

    /// `files` by path in the model folder; those in `lfs` are served as LFS files.
    init(repository: String, files: [String: Data], lfs: Set<String>, requiredToken: String? = nil, lfsOnAnotherHost: Bool = false) async throws {
        self.repository = repository
        self.files = files
        self.lfs = lfs
        self.requiredToken = requiredToken
        self.lfsOnAnotherHost = lfsOnAnotherHost
        digests = Dictionary(uniqueKeysWithValues: files.filter { lfs.contains($0.key) }.map { ($0.key, Self.sha256($0.value)) })
        let box = Mutex<HubFixtureServer?>(nil)
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let server = box.withLock({ $0 }) else { throw ChannelError.ioOnClosedChannel }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        box.withLock { $0 = self }
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: HubFixtureServer
        var head: HTTPRequestHead?

        init(server: HubFixtureServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case let .head(requestHead): head = requestHead
            case .body: break
            case .end:
                guard let request = head else { return }
                head = nil
                let reply = server.answer(request)
                var headers = reply.headers
                headers.replaceOrAdd(name: "Content-Length", value: String(reply.body.count))
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: reply.status, headers: headers))), promise: nil)
                if request.method == .HEAD {
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                } else if let cutAfter = reply.cutAfter {
                    // Part of the body, then the connection closes once that part is sent.
                    let channel = context.channel
                    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: reply.body.prefix(cutAfter))))))
                        .whenComplete { _ in channel.close(promise: nil) }
                } else {
                    context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: reply.body)))), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                }
            }
        }
    }

    /// The files of a model folder on disk (every file, relative paths).
    static func files(in directory: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            guard (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(directory.standardizedFileURL.path.count + 1))
            files[relative] = try Data(contentsOf: url)
        }
        return files
    }

    static func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    static func gitBlobSHA1(_ data: Data) -> String {
        var hasher = Insecure.SHA1()
        hasher.update(data: Data("blob \(data.count)\u{0}".utf8))
        hasher.update(data: data)
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Runs `body` while the server accepts connections, then closes it.
    func whileServing<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            try? await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }

    func answer(_ request: HTTPRequestHead) -> Reply {
        let range = request.headers.first(name: "Range")
        let authorization = request.headers.first(name: "Authorization")
        state.withLock { $0.requests.append(Request(method: "\(request.method)", path: request.uri, range: range, authorization: authorization)) }
        let path = request.uri.split(separator: "?").first.map(String.init) ?? request.uri
        let prefix = "/\(repository)/resolve/"
        if path.hasPrefix(prefix) {
            if let requiredToken, authorization != "Bearer \(requiredToken)" {
                return Reply(status: authorization == nil ? .unauthorized : .forbidden, headers: ["X-Error-Code": "GatedRepo"])
            }
            let rest = path.dropFirst(prefix.count)
            guard let slash = rest.firstIndex(of: "/") else { return Reply(status: .notFound) }
            let file = String(rest[rest.index(after: slash)...])
            guard let data = files[file] else { return Reply(status: .notFound, headers: ["X-Error-Code": "EntryNotFound"]) }
            if lfs.contains(file) {
                let sha = digests[file] ?? ""
                let location = lfsOnAnotherHost ? "http://localhost:\(port)/lfs/\(sha)" : "/lfs/\(sha)"
                return Reply(status: .found, headers: ["Location": location, "X-Linked-Etag": "\"\(sha)\"", "X-Linked-Size": "\(data.count)",
                                                       "X-Repo-Commit": commit, "ETag": "\"\(Self.gitBlobSHA1(Data("pointer".utf8)))\""])
            }
            return serve(file, data, range: range, headers: ["ETag": "\"\(Self.gitBlobSHA1(data))\"", "X-Repo-Commit": commit])
        }
        if path.hasPrefix("/lfs/"), let file = digests.first(where: { $0.value == path.dropFirst(5) })?.key,
           let data = files[file] {
            return serve(file, data, range: range, headers: ["ETag": "\"\(digests[file] ?? "")\""])
        }
        return Reply(status: .notFound)
    }

    private func serve(_ file: String, _ original: Data, range: String?, headers: HTTPHeaders) -> Reply {
        let faults = state.withLock { state in
            let faults = state.faults
            state.faults.cutAfter[file] = nil
            return faults
        }
        var data = original
        if faults.corrupted.contains(file), let first = data.first { data[data.startIndex] = first ^ 0xFF }
        var start = 0
        var status = HTTPResponseStatus.ok
        var headers = headers
        if let range, range.hasPrefix("bytes="), range.hasSuffix("-"), let from = Int(range.dropFirst(6).dropLast()) {
            guard from < data.count else { return Reply(status: .rangeNotSatisfiable, headers: ["Content-Range": "bytes */\(data.count)"]) }
            start = from
            status = .partialContent
            headers.add(name: "Content-Range", value: "bytes \(from)-\(data.count - 1)/\(data.count)")
        }
        return Reply(status: status, headers: headers, body: Data(data[(data.startIndex + start)...]), cutAfter: faults.cutAfter[file])
    }
}
