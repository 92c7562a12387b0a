import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// A small stand-in for an A2A server, enough for the request mix and the task-loss check:
/// SendMessage acknowledges a task (already completed), GetTask reads it, ListTasks, ares/search,
/// ares/verifyTask and the agent card answer, SubscribeToTask says the task has ended. Each test
/// breaks it in one way: errors on a share of requests, one request at a time (too slow for the
/// rate), or a task it acknowledges but then cannot find.
final class FakeA2AServer: Sendable {
    struct Behaviour: Sendable {
        /// Every n-th request answers HTTP 500 (0: never).
        var failEvery = 0
        /// Requests are served one at a time, each taking this long (a queue in front of one worker).
        var serialServiceTime: Duration?
        /// Task ids it acknowledges but GetTask does not find.
        var lostTasks: Set<String> = []
    }

    let server: TestHTTPServer
    private let state: State

    final class State: Sendable {
        let requests = Atomic<Int>(0)
        let tasks = Atomic<Int>(0)
        /// When the single worker of a serial server is free again.
        let freeAt = Mutex<ContinuousClock.Instant?>(nil)
    }

    var baseURL: URL { server.baseURL }

    init(_ behaviour: Behaviour) async throws {
        let state = State()
        self.state = state
        server = try await TestHTTPServer { request in
            let (_, count) = state.requests.wrappingAdd(1, ordering: .relaxed)
            var answer = Self.answer(request, behaviour: behaviour, state: state)
            if behaviour.failEvery > 0, count % behaviour.failEvery == 0 {
                answer = .init(status: .internalServerError, body: #"{"error":"injected"}"#)
            }
            if let service = behaviour.serialServiceTime {
                let done = state.freeAt.withLock { freeAt -> ContinuousClock.Instant in
                    let start = max(freeAt ?? request.arrival, request.arrival)
                    freeAt = start + service
                    return start + service
                }
                answer.delay = done - request.arrival
            }
            return answer
        }
    }

    func stop() async { await server.stop() }

    private static func answer(_ request: TestHTTPServer.Request, behaviour: Behaviour, state: State) -> TestHTTPServer.Answer {
        if request.method == .GET, request.uri.hasPrefix("/.well-known/agent-card.json") {
            return .init(body: #"{"name":"fake-a2a","version":"9.9.9"}"#)
        }
        if request.method == .GET, request.uri.hasPrefix("/metrics") {
            return .init(body: "process_resident_memory_bytes 1.048576e+07\nprocess_cpu_seconds_total 1.5\nares_task_queue_depth 0\n", contentType: "text/plain")
        }
        guard request.method == .POST, request.uri.hasPrefix("/a2a"),
              let object = try? JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any],
              let method = object["method"] as? String else {
            return .init(status: .notFound, body: #"{"error":"not found"}"#)
        }
        let params = object["params"] as? [String: Any] ?? [:]
        let id = params["id"] as? String ?? ""
        func result(_ json: String) -> TestHTTPServer.Answer { .init(body: #"{"jsonrpc":"2.0","id":1,"result":\#(json)}"#) }
        func error(_ code: Int, _ message: String) -> TestHTTPServer.Answer {
            .init(body: #"{"jsonrpc":"2.0","id":1,"error":{"code":\#(code),"message":"\#(message)"}}"#)
        }
        switch method {
        case "SendMessage":
            let (_, number) = state.tasks.wrappingAdd(1, ordering: .relaxed)
            return result(#"{"task":{"id":"t-\#(number)","contextId":"c","status":{"state":"TASK_STATE_COMPLETED"}}}"#)
        case "GetTask":
            if behaviour.lostTasks.contains(id) { return error(-32001, "Task not found") }
            return result(#"{"id":"\#(id)","contextId":"c","status":{"state":"TASK_STATE_COMPLETED"}}"#)
        case "ListTasks": return result(#"{"tasks":[],"nextPageToken":"","pageSize":20,"totalSize":0}"#)
        case "ares/search": return result("[]")
        case "ares/verifyTask": return result(#"{"taskId":"\#(id)","events":3,"intact":true,"breaks":[],"lastHash":"x"}"#)
        case "SubscribeToTask": return error(-32004, "task has ended")
        default: return error(-32601, "Method not found")
        }
    }
}
