// fuzz-jsonrpc: the A2A JSON-RPC endpoint (`POST /a2a`) as `ares serve` mounts it: envelope
// checks, nesting limit, authorization, then the real A2A and ares methods over the real task
// runner, event store and knowledge base (FuzzServer).
//
// Input: one control byte, then the request body. Control byte bits 0-1: the caller (0 admin,
// 1 researcher, 2 viewer, 3 no credentials, or rejected ones when bit 4 is set); bits 2-3: the
// A2A-Version header (0 "1.0", 1 none, 2 "0.3", 3 "1.1"). Seeds start with '0' (admin, 1.0).
// Placeholders such as @T0@ name the fixture tasks (see FuzzServer).
//
// `fuzz-jsonrpc --write-seeds FOLDER` writes the event-codec seeds (the events of real tasks).
import Foundation
import FuzzServerSupport
import FuzzSupport
import Security
import Server
import TaskService

final class JSONRPCFuzzTarget: FuzzTarget, @unchecked Sendable {
    private var server: FuzzServer
    private var endpoint: JSONRPCEndpoint
    static let versions: [String?] = ["1.0", nil, "0.3", "1.1"]
    /// A fresh environment after this many submitted tasks, so the store stays small.
    static let submissionsPerEnvironment = 150

    init() {
        (server, endpoint) = runBlocking { try! await Self.makeEnvironment() }
    }

    static func makeEnvironment() async throws -> (FuzzServer, JSONRPCEndpoint) {
        let server = try await FuzzServer.open()
        let methods = server.jsonRPCMethods()
        // As AresServer.makeApplication mounts it.
        return (server, JSONRPCEndpoint(methods: methods.a2a + methods.legacy + methods.ares,
                                        maximumNestingDepth: server.configuration.maximumNestingDepth, logger: server.logger))
    }

    func run(_ input: UnsafeRawBufferPointer) {
        guard let control = input.first else { return }
        let server = self.server, endpoint = self.endpoint
        let body = Data(server.substitute(Array(input.dropFirst())))
        let authentication: RequestAuthentication
        switch control & 0x3 {
        case 0: authentication = .principal(server.admin)
        case 1: authentication = .principal(server.researcher)
        case 2: authentication = .principal(server.viewer)
        default: authentication = control & 0x10 == 0 ? .missing : .rejected("the API key is not valid")
        }
        let version = Self.versions[Int(control >> 2) & 0x3]
        let submitted = runBlocking { () -> Bool in
            let handled = await endpoint.handle(body: body, authentication: authentication, protocolVersion: version)
            switch handled.reply {
            case let .single(_, reply, _):
                requireJSONObject(reply, "the reply to \(handled.method ?? "?")")
            case let .events(frames, closing):
                requireJSONObject(closing, "the closing frame of \(handled.method ?? "?")")
                await withTimeLimit(.seconds(10)) {
                    var count = 0
                    for await frame in frames {
                        requireJSONObject(frame, "a streamed frame of \(handled.method ?? "?")")
                        count += 1
                        if count >= 200 { break }
                    }
                }
            case .accepted:
                break
            }
            await server.waitUntilIdle()
            return (handled.method == "SendMessage" || handled.method == "SendStreamingMessage") && (handled.outcome == "ok" || handled.outcome == "stream")
        }
        if submitted { server.submissions += 1 }
        if server.submissions >= Self.submissionsPerEnvironment {
            runBlocking { await server.close() }
            (self.server, self.endpoint) = runBlocking { try! await Self.makeEnvironment() }
        }
    }
}

/// The event-codec seeds: each fixture task's events, one per file in the binary form, a few in
/// the JSON form older stores used, and whole streams as length-prefixed sequences.
func writeEventCodecSeeds(to folder: URL) async throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let server = try await FuzzServer.open()
    var written = 0
    for (taskIndex, id) in server.taskIDs.enumerated() {
        let events = try await server.service.events(of: id)
        var sequence: [UInt8] = [1]
        for (index, entry) in events.enumerated() {
            let binary = TaskEventCodec.encode(entry.event)
            try Data([0] + binary).write(to: folder.appendingPathComponent("task\(taskIndex)-event\(index)-\(entry.stored.type).bin"))
            written += 1
            if taskIndex == 0 {
                let json = try JSONEncoder().encode(entry.event)
                try Data([0] + json).write(to: folder.appendingPathComponent("task\(taskIndex)-event\(index)-\(entry.stored.type).json"))
                written += 1
            }
            sequence += [UInt8(binary.count & 0xFF), UInt8((binary.count >> 8) & 0xFF), UInt8((binary.count >> 16) & 0xFF)] + binary
        }
        try Data(sequence).write(to: folder.appendingPathComponent("task\(taskIndex)-stream.seq"))
        written += 1
    }
    await server.close()
    print("wrote \(written) seeds to \(folder.path)")
}

if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "--write-seeds" {
    let folder = URL(fileURLWithPath: CommandLine.arguments[2])
    runBlocking { try! await writeEventCodecSeeds(to: folder) }
    exit(0)
}
FuzzDriver.run(JSONRPCFuzzTarget())
