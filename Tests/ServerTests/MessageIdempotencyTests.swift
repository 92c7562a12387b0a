import AresTestSupport
import Foundation
import Testing

/// SendMessage is idempotent by the message's `messageId` for a principal (issue 16): a
/// retry of a message whose answer was lost (or answered 503 while its commit was in doubt)
/// returns the task the first try created instead of creating a second one, on the embedded
/// server and across replicas on PostgreSQL; concurrent duplicates create one task; a
/// messageId reused for a different message is refused as invalid params.
@Suite(.serialized) struct MessageIdempotencyTests {
    private static func message(_ id: String, _ text: String, contextID: String? = nil) -> [String: Any] {
        var message: [String: Any] = ["messageId": id, "role": "ROLE_USER", "parts": [["text": text]]]
        if let contextID { message["contextId"] = contextID }
        return ["message": message, "configuration": ["returnImmediately": true]]
    }

    /// The task id a SendMessage answered, or a description of what it answered instead.
    private static func taskID(_ reply: ServerProcess.Reply) -> Result<String, ServerProcess.Failure> {
        guard let json = try? reply.json(), let id = value(json, "result", "task", "id") as? String else {
            return .failure(ServerProcess.Failure("HTTP \(reply.status): \(reply.text.prefix(300))"))
        }
        return .success(id)
    }

    @Test func aRetriedMessageReturnsItsTaskOnTheEmbeddedServer() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        let alice = try await ServerProcess.createKey(role: "researcher", in: data, name: "alice")
        let bob = try await ServerProcess.createKey(role: "researcher", in: data, name: "bob")
        let server = try await ServerProcess(dataDirectory: data)
        defer { server.stop() }

        let messageID = UUID().uuidString
        let first = try Self.taskID(await server.rpc("SendMessage", params: Self.message(messageID, "How are tasks resumed?"), key: alice)).get()
        let retry = try Self.taskID(await server.rpc("SendMessage", params: Self.message(messageID, "How are tasks resumed?"), key: alice)).get()
        #expect(retry == first, "a retry of the same message created a second task")
        // Over REST too (the same method behind it).
        let rest = try await server.request("POST", "/rest/message:send",
                                            body: try JSONSerialization.data(withJSONObject: Self.message(messageID, "How are tasks resumed?")),
                                            headers: ["Content-Type": "application/json", "A2A-Version": "1.0", "Authorization": "Bearer \(alice)"])
        #expect((try? rest.json()).flatMap { value($0, "task", "id") as? String } == first, "REST: \(rest.status) \(rest.text.prefix(300))")

        // Another principal's message with the same id is its own message.
        let bobs = try Self.taskID(await server.rpc("SendMessage", params: Self.message(messageID, "How are tasks resumed?"), key: bob)).get()
        #expect(bobs != first)

        // The same id for another question is refused, saying why; so is another context.
        let reused = try await server.rpc("SendMessage", params: Self.message(messageID, "How do I restore a backup?"), key: alice).json()
        #expect(value(reused, "error", "code") as? Int == -32602, "\(reused)")
        #expect((value(reused, "error", "message") as? String)?.contains("messageId") == true, "\(reused)")
        let otherContext = try await server.rpc("SendMessage", params: Self.message(messageID, "How are tasks resumed?", contextID: "ctx-other"),
                                                key: alice).json()
        #expect(value(otherContext, "error", "code") as? Int == -32602, "\(otherContext)")

        // Eight tries of one message at once: one task.
        let concurrentID = UUID().uuidString
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try Self.taskID(await server.rpc("SendMessage", params: Self.message(concurrentID, "Where does ares keep its data?"), key: alice)).get()
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(ids.count == 1, "concurrent tries of one message created \(ids.count) tasks")
        let listed = try await server.rpc("ListTasks", params: ["pageSize": 100], key: alice).json()
        let tasks = (value(listed, "result", "tasks") as? [[String: Any]]) ?? []
        #expect(tasks.count == 2, "alice has two tasks (one per messageId), the listing shows \(tasks.count): \(listed)")
    }

    @Test func retriesOnAnyReplicaReturnOneTaskOnPostgreSQL() async throws {
        let cluster = try await TestPostgresCluster.shared()
        let set = try await ReplicaSet(cluster: cluster, database: try await cluster.createDatabase(prefix: "idempotent"), count: 2, modelDelay: 0)
        let (a, b) = (set.replicas[0], set.replicas[1])

        let messageID = UUID().uuidString
        let first = try Self.taskID(await a.rpc("SendMessage", params: Self.message(messageID, "How are tasks resumed?"), key: nil)).get()
        let elsewhere = try Self.taskID(await b.rpc("SendMessage", params: Self.message(messageID, "How are tasks resumed?"), key: nil)).get()
        #expect(elsewhere == first, "a retry on the other replica created a second task")
        let reused = try await b.rpc("SendMessage", params: Self.message(messageID, "How do I restore a backup?"), key: nil).json()
        #expect(value(reused, "error", "code") as? Int == -32602, "\(reused)")

        // Tries of each message on both replicas at once: one task per message.
        let messages = (0..<6).map { index in (UUID().uuidString, ReplicaSet.questions[index % ReplicaSet.questions.count] + " (race \(index))") }
        let answers = try await withThrowingTaskGroup(of: (String, String).self) { group in
            for (id, text) in messages {
                for replica in [a, b, a, b] {
                    group.addTask { (id, try Self.taskID(await replica.rpc("SendMessage", params: Self.message(id, text), key: nil)).get()) }
                }
            }
            return try await group.reduce(into: [String: Set<String>]()) { $0[$1.0, default: []].insert($1.1) }
        }
        for (id, tasks) in answers { #expect(tasks.count == 1, "message \(id) created \(tasks.count) tasks") }
        let streams = try await set.taskStreams()
        #expect(streams.count == messages.count + 1, "the database holds \(streams.count) tasks for \(messages.count + 1) messages")
        for replica in set.replicas { await #expect(replica.terminate() == 0, "\(replica.log().suffix(2000))") }
    }
}
