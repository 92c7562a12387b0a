import Foundation
import Testing

/// Retention on a real `ares serve` (`--retention`) and by hand (`ares tasks prune`): pruned
/// tasks answer with their summary, `ares verify` still proves the log intact.
@Suite(.serialized) struct RetentionTests {
    private func question(_ text: String) -> [String: Any] {
        ["message": ["messageId": UUID().uuidString, "role": "ROLE_USER", "parts": [["text": text]]]]
    }

    @Test func theServerPrunesEndedTasksAndAnswersWithTheirSummary() async throws {
        let data = try await ServerProcess.makeDataDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let key = try await ServerProcess.createKey(role: "researcher", in: data)
        let other = try await ServerProcess.createKey(role: "researcher", in: data, name: "other")
        // Kept by hand first: a task from before retention was switched on.
        var server = try await ServerProcess(dataDirectory: data)
        let kept = try await server.rpc("SendMessage", params: question("How are tasks resumed?"), key: key).json()
        let keptID = try #require(value(kept, "result", "task", "id") as? String)
        await #expect(server.terminate() == 0)

        // By hand: nothing ended more than an hour ago; everything ended more than a second ago.
        let none = try await ServerProcess.ares(["tasks", "prune", "--older-than", "1h", "--data-dir", data.path])
        #expect(none.status == 0 && none.stdout.contains("nothing pruned"), "\(none.stdout)\(none.stderr)")
        let bad = try await ServerProcess.ares(["tasks", "prune", "--older-than", "30", "--data-dir", data.path])
        #expect(bad.status != 0 && bad.stderr.contains("not a retention period"), "\(bad.stderr)")
        try await Task.sleep(for: .seconds(1.1))
        let pruned = try await ServerProcess.ares(["tasks", "prune", "--older-than", "1s", "--data-dir", data.path])
        #expect(pruned.status == 0 && pruned.stdout.contains("pruned 1 tasks"), "\(pruned.stdout)\(pruned.stderr)")
        let list = try await ServerProcess.ares(["tasks", "list", "--data-dir", data.path])
        #expect(list.stdout.contains(keptID) && list.stdout.contains("pruned"), "\(list.stdout)")
        let show = try await ServerProcess.ares(["tasks", "show", keptID, "--data-dir", data.path])
        #expect(show.status != 0 && show.stderr.contains("removed by retention") && show.stderr.contains("How are tasks resumed?"), "\(show.stderr)")

        // The server with --retention 2s prunes what ends while it runs.
        server = try await ServerProcess(dataDirectory: data, arguments: ["--retention", "2s"])
        defer { server.stop() }
        let fresh = try await server.rpc("SendMessage", params: question("What does ares verify check?"), key: key).json()
        let freshID = try #require(value(fresh, "result", "task", "id") as? String)
        #expect(value(fresh, "result", "task", "status", "state") as? String == "TASK_STATE_COMPLETED")
        var answer: [String: Any] = [:]
        for _ in 0..<80 {
            answer = try await server.rpc("GetTask", params: ["id": freshID], key: key).json()
            if answer["error"] != nil { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(value(answer, "error", "code") as? Int == -32001, "\(answer)")
        #expect(value(answer, "error", "data", "0", "reason") as? String == "TASK_PRUNED", "\(answer)")
        #expect(value(answer, "error", "data", "0", "metadata", "state") as? String == "completed")
        #expect(value(answer, "error", "data", "0", "metadata", "question") as? String == "What does ares verify check?")
        #expect((value(answer, "error", "data", "0", "metadata", "reportSHA256") as? String)?.count == 64)
        // Another principal learns nothing about it.
        let hidden = try await server.rpc("GetTask", params: ["id": freshID], key: other).json()
        #expect(value(hidden, "error", "data", "0", "reason") as? String == "TASK_NOT_FOUND", "\(hidden)")
        // Listing shows the tasks that remain, and the server keeps serving.
        let listed = try await server.rpc("ListTasks", params: [:], key: key).json()
        #expect(value(listed, "result", "totalSize") as? Int == 0, "\(listed)")
        #expect(try await server.request("GET", "/health/ready").status == 200)
        await #expect(server.terminate() == 0)

        let verify = try await ServerProcess.ares(["verify", "--data-dir", data.path])
        #expect(verify.status == 0 && verify.stdout.contains("2 pruned streams match their retention checkpoints"), "\(verify.stdout)\(verify.stderr)")
    }
}
