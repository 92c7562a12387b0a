import Foundation

/// One run of the attack suite: the bindings found, the keys created so far (revoked at the
/// end), and each group of attacks.
struct SecurityAttacks: Sendable {
    let http: ProbeHTTP
    let endpoints: ProbeEndpoints
    let oversizedBodyBytes: Int
    let nestingDepth: Int
    /// Every secret this run handled, so that the report can be scrubbed of them.
    private(set) var secrets: [String] = []
    /// Keys to revoke at the end (those not revoked by a check already).
    private var createdKeys: [String] = []

    init(http: ProbeHTTP, endpoints: ProbeEndpoints, oversizedBodyBytes: Int, nestingDepth: Int) {
        self.http = http
        self.endpoints = endpoints
        self.oversizedBodyBytes = oversizedBodyBytes
        self.nestingDepth = nestingDepth
    }

    enum Binding: String, Sendable, CaseIterable {
        case jsonrpc, rest, mcp
    }

    var bindings: [Binding] {
        [.jsonrpc] + (endpoints.rest == nil ? [] : [.rest]) + (endpoints.mcp == nil ? [] : [.mcp])
    }

    private var rpcPath: String { endpoints.jsonRPC }
    private var restPath: String { endpoints.rest ?? "/rest" }
    private var mcpPath: String { endpoints.mcp ?? "/mcp" }

    // MARK: Requests per binding

    /// A read every principal may make: ListTasks, GET /tasks, MCP tools/list.
    func read(_ binding: Binding, _ credential: ProbeHTTP.Credential) async -> Result<ProbeHTTP.Reply, ProbeHTTP.Failure> {
        switch binding {
        case .jsonrpc: await http.rpc(rpcPath, method: "ListTasks", params: ["pageSize": 1], credential: credential)
        case .rest: await http.send(.GET, ProbeEndpoints.join(restPath, "/tasks?pageSize=1"), credential: credential, headers: http.jsonHeaders)
        case .mcp: await http.rpc(mcpPath, method: "tools/list", params: [String: Any](), credential: credential)
        }
    }

    static func sendMessageParams(_ question: String) -> [String: Any] {
        ["message": ["messageId": UUID().uuidString.lowercased(), "role": "ROLE_USER", "parts": [["text": question]]],
         "configuration": ["returnImmediately": true]]
    }

    /// A research submission: SendMessage, POST /message:send, MCP tools/call research.
    func submit(_ binding: Binding, _ credential: ProbeHTTP.Credential, question: String) async -> Result<ProbeHTTP.Reply, ProbeHTTP.Failure> {
        switch binding {
        case .jsonrpc:
            return await http.rpc(rpcPath, method: "SendMessage", params: Self.sendMessageParams(question), credential: credential)
        case .rest:
            let body = (try? JSONSerialization.data(withJSONObject: Self.sendMessageParams(question))) ?? Data()
            return await http.send(.POST, ProbeEndpoints.join(restPath, "/message:send"), credential: credential, headers: http.jsonHeaders, body: body)
        case .mcp:
            return await http.rpc(mcpPath, method: "tools/call", params: ["name": "research", "arguments": ["question": question]], credential: credential)
        }
    }

    /// Where raw bytes go for the input attacks of a binding.
    private func rawPath(_ binding: Binding) -> String {
        switch binding {
        case .jsonrpc: rpcPath
        case .rest: ProbeEndpoints.join(restPath, "/message:send")
        case .mcp: mcpPath
        }
    }

    private func check(_ id: String, _ title: String, _ verdict: ProbeVerdict, sent: String) -> ProbeCheck {
        ProbeCheck(id: id, title: title, outcome: verdict.outcome, detail: "\(sent) → \(verdict.detail)")
    }

    // MARK: Credentials

    func credentialChecks() async -> [ProbeCheck] {
        var checks: [ProbeCheck] = []
        let wrongKey = "ares_\(Self.randomHex(6))_\(Self.randomHex(16))"
        let now = Int(Date().timeIntervalSince1970)
        let expired = Self.jwt(header: ["alg": "HS256", "typ": "JWT"],
                               claims: ["sub": "ares-validate-probe", "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600], signed: true)
        let unsigned = Self.jwt(header: ["alg": "none", "typ": "JWT"],
                                claims: ["sub": "ares-validate-probe", "iat": now, "exp": now + 3600, "role": "admin"], signed: false)
        let malformed: [(String, String)] = [
            ("'Bearer' with no token", "Bearer"),
            ("'Bearer' and spaces", "Bearer    "),
            ("Basic credentials", "Basic " + Data("admin:admin".utf8).base64EncodedString()),
            ("a token with spaces", "Bearer a b c"),
            ("an 8 KiB token", "Bearer " + String(repeating: "A", count: 8192)),
            ("a token of non-ASCII text", "Bearer \u{00e9}\u{00e8}"),
        ]
        for binding in bindings {
            let name = binding.rawValue
            checks.append(check("security.missing-credential.\(name)", "A request without a credential is refused (\(name))",
                                .ofRefusal(await read(binding, .none)), sent: "no Authorization header"))
            checks.append(check("security.wrong-credential.\(name)", "A made-up API key is refused (\(name))",
                                .ofRefusal(await read(binding, .bearer(wrongKey))), sent: "a random key of the ares shape"))
            var attempts: [(String, ProbeVerdict)] = []
            for (label, header) in malformed {
                attempts.append((label, .ofRefusal(await read(binding, .authorization(header)))))
            }
            checks.append(check("security.malformed-bearer.\(name)", "Malformed Authorization headers are refused (\(name))",
                                .combine(attempts), sent: "\(malformed.count) malformed headers"))
            checks.append(check("security.expired-token.\(name)", "An expired bearer token (JWT) is refused (\(name))",
                                .ofRefusal(await read(binding, .bearer(expired))), sent: "a JWT whose exp is an hour past"))
            checks.append(check("security.unsigned-token.\(name)", "An unsigned bearer token (JWT, alg none) is refused (\(name))",
                                .ofRefusal(await read(binding, .bearer(unsigned))), sent: "a JWT with alg none claiming role admin"))
        }
        return checks
    }

    // MARK: Keys: revoked, wrong role, another principal's task

    /// The checks that need keys of their own; `notRun` for each without an admin credential.
    mutating func keyChecks() async -> [ProbeCheck] {
        let keys = ProbeKeys(http: http, path: rpcPath)
        let planned = plannedKeyCheckIDs()
        if let problem = await keys.adminProblem() {
            return planned.map { ProbeCheck(id: $0.id, title: $0.title, outcome: .notRun, detail: problem) }
        }
        var made: [String: ProbeKeys.Key] = [:]
        for (label, role) in [("researcherA", "researcher"), ("researcherB", "researcher"), ("viewer", "viewer"), ("revoked", "researcher")] {
            switch await keys.create(role: role) {
            case let .success(key):
                made[label] = key
                secrets.append(key.secret)
                createdKeys.append(key.id)
            case let .failure(failure):
                return planned.map { ProbeCheck(id: $0.id, title: $0.title, outcome: .notRun, detail: "could not create a \(role) key: \(failure)") }
            }
        }
        guard let researcherA = made["researcherA"], let researcherB = made["researcherB"], let viewer = made["viewer"],
              let revoked = made["revoked"] else { return [] }
        var checks: [ProbeCheck] = []
        checks += await revokedKeyChecks(revoked, keys: keys)
        checks += await wrongRoleChecks(viewer: viewer, researcher: researcherA, keys: keys)
        checks += await ownershipChecks(owner: researcherA, other: researcherB)
        return checks
    }

    private func plannedKeyCheckIDs() -> [(id: String, title: String)] {
        var planned: [(String, String)] = []
        for binding in bindings {
            planned.append(("security.revoked-key.\(binding.rawValue)", "A revoked API key is refused (\(binding.rawValue))"))
        }
        for binding in bindings {
            planned.append(("security.wrong-role.viewer-submits.\(binding.rawValue)", "A viewer may not submit research (\(binding.rawValue))"))
        }
        planned.append(("security.wrong-role.researcher-admin.jsonrpc", "A researcher may not call admin methods (ares/createKey, ares/listKeys)"))
        for binding in bindings {
            planned.append(("security.other-principals-task.\(binding.rawValue)", "Another researcher's task is not revealed, canceled or followed (\(binding.rawValue))"))
        }
        return planned
    }

    private mutating func revokedKeyChecks(_ key: ProbeKeys.Key, keys: ProbeKeys) async -> [ProbeCheck] {
        // Used once before revocation, so that a server caching the key's validity is caught too.
        let before = await read(.jsonrpc, .bearer(key.secret))
        if let problem = await keys.revoke(key.id) {
            return bindings.map { ProbeCheck(id: "security.revoked-key.\($0.rawValue)", title: "A revoked API key is refused (\($0.rawValue))",
                                             outcome: .notRun, detail: "could not revoke the probe's key: \(problem)") }
        }
        createdKeys.removeAll { $0 == key.id }
        var checks: [ProbeCheck] = []
        let usedBefore: String
        switch before {
        case let .success(reply): usedBefore = "the key was accepted before revocation (\(reply.status))"
        case let .failure(failure): usedBefore = "the key's use before revocation failed (\(failure))"
        }
        for binding in bindings {
            checks.append(check("security.revoked-key.\(binding.rawValue)", "A revoked API key is refused (\(binding.rawValue))",
                                .ofRefusal(await read(binding, .bearer(key.secret))), sent: "a key revoked with ares/revokeKey; \(usedBefore)"))
        }
        return checks
    }

    private mutating func wrongRoleChecks(viewer: ProbeKeys.Key, researcher: ProbeKeys.Key, keys: ProbeKeys) async -> [ProbeCheck] {
        var checks: [ProbeCheck] = []
        for binding in bindings {
            checks.append(check("security.wrong-role.viewer-submits.\(binding.rawValue)", "A viewer may not submit research (\(binding.rawValue))",
                                .ofRefusal(await submit(binding, .bearer(viewer.secret), question: "What does a viewer key allow?")),
                                sent: "a research question with a viewer key"))
        }
        let escalation = await http.rpc(rpcPath, method: "ares/createKey", params: ["role": "admin", "name": "ares-validate-probe-escalation"],
                                        credential: .bearer(researcher.secret))
        if case let .success(reply) = escalation, let id = ProbeJSON.string(reply.object, "result", "key", "id") {
            // The attack worked: take the admin key it made away again at once.
            if let secret = ProbeJSON.string(reply.object, "result", "secret") { secrets.append(secret) }
            _ = await keys.revoke(id)
        }
        let listing = await http.rpc(rpcPath, method: "ares/listKeys", credential: .bearer(researcher.secret))
        checks.append(check("security.wrong-role.researcher-admin.jsonrpc", "A researcher may not call admin methods (ares/createKey, ares/listKeys)",
                            .combine([("ares/createKey role admin", .ofRefusal(escalation)), ("ares/listKeys", .ofRefusal(listing))]),
                            sent: "admin methods with a researcher key"))
        return checks
    }

    private func ownershipChecks(owner: ProbeKeys.Key, other: ProbeKeys.Key) async -> [ProbeCheck] {
        let title = { (binding: Binding) in "Another researcher's task is not revealed, canceled or followed (\(binding.rawValue))" }
        let submitted = await submit(.jsonrpc, .bearer(owner.secret), question: "How are research tasks kept apart between principals?")
        guard case let .success(reply) = submitted, let taskID = ProbeJSON.string(reply.object, "result", "task", "id") else {
            let why: String
            switch submitted {
            case let .success(reply): why = "the first researcher's SendMessage made no task: \(reply.summary)"
            case let .failure(failure): why = "the first researcher's SendMessage failed: \(failure)"
            }
            return bindings.map { ProbeCheck(id: "security.other-principals-task.\($0.rawValue)", title: title($0), outcome: .notRun, detail: why) }
        }
        let intruder = ProbeHTTP.Credential.bearer(other.secret)
        var checks: [ProbeCheck] = []
        for binding in bindings {
            var attempts: [(String, ProbeVerdict)] = []
            switch binding {
            case .jsonrpc:
                attempts.append(("GetTask", .ofRefusal(await http.rpc(rpcPath, method: "GetTask", params: ["id": taskID], credential: intruder))))
                attempts.append(("CancelTask", .ofRefusal(await http.rpc(rpcPath, method: "CancelTask", params: ["id": taskID], credential: intruder))))
                attempts.append(("SubscribeToTask", await subscribeVerdict(taskID, credential: intruder)))
                attempts.append(("ListTaskPushNotificationConfigs", .ofRefusal(await http.rpc(
                    rpcPath, method: "ListTaskPushNotificationConfigs", params: ["taskId": taskID], credential: intruder))))
                attempts.append(("ListTasks", await listingVerdict(taskID, credential: intruder)))
            case .rest:
                let path = ProbeEndpoints.join(restPath, "/tasks/\(taskID)")
                attempts.append(("GET /tasks/{id}", .ofRefusal(await http.send(.GET, path, credential: intruder, headers: http.jsonHeaders))))
                attempts.append(("POST /tasks/{id}:cancel", .ofRefusal(await http.send(.POST, path + ":cancel", credential: intruder,
                                                                                        headers: http.jsonHeaders, body: Data("{}".utf8)))))
            case .mcp:
                attempts.append(("tools/call get_task", .ofRefusal(await http.rpc(
                    mcpPath, method: "tools/call", params: ["name": "get_task", "arguments": ["taskId": taskID]], credential: intruder))))
            }
            checks.append(check("security.other-principals-task.\(binding.rawValue)", title(binding), .combine(attempts),
                                sent: "a second researcher's key on the first one's task"))
        }
        // A cancel that was refused in words but carried out anyway is a bypass too.
        if case let .success(reply) = await http.rpc(rpcPath, method: "GetTask", params: ["id": taskID], credential: .bearer(owner.secret)),
           ProbeJSON.string(reply.object, "result", "status", "state") == "TASK_STATE_CANCELED" {
            checks.append(ProbeCheck(id: "security.other-principals-task.cancel-effect", title: "Another researcher's cancel attempt leaves the task alone",
                                     outcome: .bypass, detail: "the owner's task is canceled after only the second researcher tried to cancel it"))
        }
        return checks
    }

    /// SubscribeToTask by someone else: an error is a refusal; an event stream is a bypass.
    private func subscribeVerdict(_ taskID: String, credential: ProbeHTTP.Credential) async -> ProbeVerdict {
        switch await http.stream(rpcPath, method: "SubscribeToTask", params: ["id": taskID], id: 1, credential: credential, within: 15) {
        case let .failure(failure):
            return .serverError("no answer: \(failure)")
        case let .success(stream):
            if stream.isEventStream {
                return .accepted("HTTP \(stream.status), an event stream of \(stream.events.count) events")
            }
            return .ofRefusal(.success(ProbeHTTP.Reply(status: stream.status, headers: stream.headers, body: stream.body)))
        }
    }

    /// ListTasks by someone else: the answer must not contain the task.
    private func listingVerdict(_ taskID: String, credential: ProbeHTTP.Credential) async -> ProbeVerdict {
        let result = await http.rpc(rpcPath, method: "ListTasks", params: ["pageSize": 100], credential: credential)
        if case let .success(reply) = result, let failure = ProbeVerdict.serverFailure(reply) { return .serverError(failure) }
        guard case let .success(reply) = result else { return .ofAnswer(result) }
        let ids = (ProbeJSON.array(reply.object, "result", "tasks") ?? []).compactMap { ProbeJSON.string($0, "id") }
        return ids.contains(taskID) ? .accepted("the listing holds the other researcher's task") : .refused("HTTP \(reply.status), \(ids.count) tasks listed, not this one")
    }

    // MARK: Input

    func inputChecks() async -> [ProbeCheck] {
        var checks: [ProbeCheck] = []
        for binding in bindings {
            let name = binding.rawValue
            let path = rawPath(binding)
            checks.append(check("security.oversized-body.\(name)", "An oversized body is refused (\(name))",
                                .ofRefusal(await http.post(path, raw: oversizedBody(binding), credential: .target)),
                                sent: "a \(oversizedBodyBytes / (1 << 20)) MiB request"))
            checks.append(check("security.deep-nesting.\(name)", "Deeply nested JSON is refused (\(name))",
                                .ofRefusal(await http.post(path, raw: deeplyNested(binding), credential: .target)),
                                sent: "JSON nested \(nestingDepth) arrays deep"))
            var attempts: [(String, ProbeVerdict)] = []
            for (label, body) in Self.malformedBodies {
                attempts.append((label, .ofRefusal(await http.post(path, raw: body, credential: .target))))
            }
            checks.append(check("security.malformed-json.\(name)", "Malformed JSON is refused (\(name))", .combine(attempts),
                                sent: "\(Self.malformedBodies.count) malformed bodies"))
            checks.append(check("security.invalid-utf8.\(name)", "A body that is not UTF-8 is refused (\(name))",
                                .ofRefusal(await http.post(path, raw: invalidUTF8(binding), credential: .target)),
                                sent: "a string holding the bytes FF FE"))
            if binding != .rest {
                checks.append(await wrongVersionCheck(binding))
                checks.append(await hugeValuesCheck(binding))
            }
        }
        checks.append(await aliveCheck())
        return checks
    }

    private func wrongVersionCheck(_ binding: Binding) async -> ProbeCheck {
        let method = binding == .mcp ? "tools/list" : "ListTasks"
        let variants: [(String, String)] = [
            ("jsonrpc \"1.0\"", #"{"jsonrpc":"1.0","id":1,"method":"\#(method)","params":{}}"#),
            ("no jsonrpc member", #"{"id":1,"method":"\#(method)","params":{}}"#),
            ("jsonrpc as the number 2.0", #"{"jsonrpc":2.0,"id":1,"method":"\#(method)","params":{}}"#),
        ]
        var attempts: [(String, ProbeVerdict)] = []
        for (label, body) in variants {
            attempts.append((label, .ofRefusal(await http.post(rawPath(binding), raw: Data(body.utf8), credential: .target))))
        }
        return check("security.wrong-jsonrpc-version.\(binding.rawValue)", "A request that is not JSON-RPC 2.0 is refused (\(binding.rawValue))",
                     .combine(attempts), sent: "\(variants.count) envelopes with a wrong or missing version")
    }

    /// Huge ids, method names and strings must be answered (either way), never crash the server.
    private func hugeValuesCheck(_ binding: Binding) async -> ProbeCheck {
        let big = String(repeating: "x", count: 256 * 1024)
        let method = binding == .mcp ? "tools/list" : "ListTasks"
        var variants: [(String, String)] = [
            ("a 400-digit id", #"{"jsonrpc":"2.0","id":\#(String(repeating: "9", count: 400)),"method":"\#(method)","params":{}}"#),
            ("an id of 1e400", #"{"jsonrpc":"2.0","id":1e400,"method":"\#(method)","params":{}}"#),
            ("a 256 KiB string id", #"{"jsonrpc":"2.0","id":"\#(big)","method":"\#(method)","params":{}}"#),
            ("a 256 KiB method name", #"{"jsonrpc":"2.0","id":1,"method":"\#(big)","params":{}}"#),
        ]
        if binding == .jsonrpc {
            variants.append(("GetTask of a 256 KiB id", #"{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"task-\#(big)"}}"#))
            variants.append(("ListTasks of a 256 KiB contextId", #"{"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{"contextId":"\#(big)"}}"#))
        } else {
            variants.append(("tools/call of a 256 KiB tool name", #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\#(big)","arguments":{}}}"#))
        }
        var attempts: [(String, ProbeVerdict)] = []
        for (label, body) in variants {
            attempts.append((label, .ofAnswer(await http.post(rawPath(binding), raw: Data(body.utf8), credential: .target))))
        }
        return check("security.huge-values.\(binding.rawValue)", "Huge ids, method names and strings are answered without a server error (\(binding.rawValue))",
                     .combine(attempts), sent: "\(variants.count) requests with huge values")
    }

    /// After every attack the server still answers.
    private func aliveCheck() async -> ProbeCheck {
        let result = await read(.jsonrpc, .target)
        let verdict: ProbeVerdict
        switch result {
        case let .failure(failure): verdict = .serverError("no answer: \(failure)")
        case let .success(reply): verdict = ProbeVerdict.serverFailure(reply).map(ProbeVerdict.serverError) ?? .refused("answered HTTP \(reply.status)")
        }
        return check("security.server-alive", "The server still answers after the attacks", verdict, sent: "ListTasks")
    }

    static let malformedBodies: [(String, Data)] = [
        ("a truncated object", Data(#"{"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{"#.utf8)),
        ("a trailing comma", Data(#"{"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{"pageSize":1,},}"#.utf8)),
        ("single quotes", Data("{'jsonrpc':'2.0','id':1,'method':'ListTasks'}".utf8)),
        ("a NUL byte", Data([0x7B, 0x00, 0x7D])),
        ("an empty body", Data()),
        ("bare text", Data("ListTasks please".utf8)),
    ]

    private func oversizedBody(_ binding: Binding) -> Data {
        let text = String(repeating: "a", count: oversizedBodyBytes)
        switch binding {
        case .jsonrpc:
            return Data((#"{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m-1","role":"ROLE_USER","parts":[{"text":""#
                + text + #""}]},"configuration":{"returnImmediately":true}}}"#).utf8)
        case .rest:
            return Data((#"{"message":{"messageId":"m-1","role":"ROLE_USER","parts":[{"text":""# + text + #""}]},"configuration":{"returnImmediately":true}}"#).utf8)
        case .mcp:
            return Data((#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"research","arguments":{"question":""# + text + #""}}}"#).utf8)
        }
    }

    private func deeplyNested(_ binding: Binding) -> Data {
        let nested = String(repeating: "[", count: nestingDepth) + String(repeating: "]", count: nestingDepth)
        switch binding {
        case .jsonrpc: return Data((#"{"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{"metadata":"# + nested + "}}").utf8)
        case .rest: return Data((#"{"message":{"messageId":"m-1","role":"ROLE_USER","parts":[{"text":"q"}]},"metadata":{"deep":"# + nested + "}}").utf8)
        case .mcp: return Data((#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"deep":"# + nested + "}}").utf8)
        }
    }

    private func invalidUTF8(_ binding: Binding) -> Data {
        let (head, tail): (String, String)
        switch binding {
        case .jsonrpc: (head, tail) = (#"{"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{"contextId":"ctx-"#, #""}}"#)
        case .rest: (head, tail) = (#"{"message":{"messageId":"m-1","role":"ROLE_USER","parts":[{"text":"why "#, #""}]},"configuration":{"returnImmediately":true}}"#)
        case .mcp: (head, tail) = (#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"c-"#, #""}}"#)
        }
        return Data(head.utf8) + Data([0xFF, 0xFE]) + Data(tail.utf8)
    }

    // MARK: Clean-up

    /// Revokes every key the run created; a key left usable is reported.
    mutating func cleanUp() async -> [ProbeCheck] {
        guard !createdKeys.isEmpty else { return [] }
        let keys = ProbeKeys(http: http, path: rpcPath)
        var problems: [String] = []
        for id in createdKeys {
            if let problem = await keys.revoke(id) { problems.append(problem) }
        }
        createdKeys = []
        guard !problems.isEmpty else { return [] }
        return [ProbeCheck(id: "security.cleanup", title: "The keys the probe created are revoked again", outcome: .notRun,
                           detail: problems.joined(separator: "; "))]
    }

    // MARK: Helpers

    static func randomHex(_ bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    /// A JWT-shaped token; `signed` adds a random (so invalid) HS256-sized signature.
    static func jwt(header: [String: Any], claims: [String: Any], signed: Bool) -> String {
        func encode(_ object: [String: Any]) -> String {
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return base64URL(data)
        }
        let signature = signed ? base64URL(Data((0..<32).map { _ in UInt8.random(in: 0...255) })) : ""
        return "\(encode(header)).\(encode(claims)).\(signature)"
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
