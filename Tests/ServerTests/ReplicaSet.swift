import AresTestSupport
import Foundation
import ResearchCore
import TaskService
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Several real `ares serve --database` replicas on one PostgreSQL database, for the failover
/// tests (issue 16): each over a copy of one data directory (the project's docs ingested once
/// per test process), in development mode (loopback only, no keys: these tests are about the
/// work, not access), with `--replica-id replica-N`, and every LLM step sent to a slow model
/// endpoint (Fixtures/slow_model_endpoint.py): its replies are no JSON, so each step falls back
/// to the built-in agent and a task completes as usual, only slowly enough to be in flight when a
/// replica is killed or drained.
///
/// It also installs a trigger on the work queue that logs every claim, release and end of a
/// claim with the database's clock (`claimLog()`), and reads every task stream from the
/// database (`taskStreams()`): what the assertions are made of.
final class ReplicaSet: @unchecked Sendable {
    let cluster: TestPostgresCluster
    let database: String
    let environment: [String: String]
    private(set) var replicas: [ServerProcess] = []
    private let model: PythonFixture
    private let arguments: [String]
    private let template: URL

    /// `modelDelay`: seconds each model call takes (six calls per task); `maximumRunning`: each
    /// replica's `--max-running-tasks`; `logLevel`: the replicas' `ARES_LOG_LEVEL` (nil: info).
    init(cluster: TestPostgresCluster, database: String, count: Int, modelDelay: Double = 0.3, maximumRunning: Int = 4,
         logLevel: String? = nil, extraArguments: [String] = []) async throws {
        self.cluster = cluster
        self.database = database
        var environment = cluster.environment(database: database)
        if let logLevel { environment["ARES_LOG_LEVEL"] = logLevel }
        self.environment = environment
        model = try PythonFixture(script: "slow_model_endpoint.py", arguments: [String(modelDelay)])
        let port = try model.firstLine()
        guard Int(port) != nil else { throw ServerProcess.Failure("the slow model endpoint printed no port: \(model.output())") }
        arguments = ["--dev", "--max-running-tasks", String(maximumRunning),
                     "--model-url", "http://127.0.0.1:\(port)/v1", "--model", "slow"] + extraArguments
        template = try Self.templateDirectory.get()
        for index in 0..<count { _ = try await start(index: index) }
        for replica in replicas { try await SharedDatabaseServerTests.waitUntilReady(replica) }
        try await installClaimLog()
    }

    deinit {
        for replica in replicas { replica.stop() }
        model.stop()
    }

    /// Starts replica `index` (replacing a stopped one of that index), not waiting for readiness.
    @discardableResult
    func start(index: Int) async throws -> ServerProcess {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("ares-replica-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: template, to: data)
        let replica = try await ServerProcess(dataDirectory: data, arguments: arguments + ["--replica-id", Self.name(index)], environment: environment)
        if index < replicas.count { replicas[index] = replica } else { replicas.append(replica) }
        return replica
    }

    static func name(_ index: Int) -> String { "replica-\(index)" }

    /// One data directory with the docs ingested, copied for every replica of the test process.
    private static let templateDirectory = Result { try ServerProcess.makeDataDirectory() }

    // MARK: Tasks over A2A

    enum Submission {
        case acknowledged(String)
        /// Refused: the HTTP status, the JSON-RPC error code and whether Retry-After was set.
        case refused(status: Int, code: Int?, retryAfter: Bool, message: String)
    }

    /// SendMessage with returnImmediately: acknowledged once the server answers with a task id.
    /// Sent on a session of its own: the shared one opens at most six connections per host and
    /// queues the rest on the client, so requests held up by an outage would hide the refusals
    /// of the requests behind them.
    func submit(_ question: String, to replica: ServerProcess) async throws -> Submission {
        let message: [String: Any] = ["jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": [
            "message": ["messageId": UUID().uuidString, "role": "ROLE_USER", "parts": [["text": question]]],
            "configuration": ["returnImmediately": true],
        ] as [String: Any]]
        guard let url = URL(string: replica.baseURL + "/a2a") else { throw ServerProcess.Failure("bad URL \(replica.baseURL)") }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: message)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("1.0", forHTTPHeaderField: "A2A-Version")
        let (body, response) = try await Self.session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw ServerProcess.Failure("not an HTTP response") }
        let json = try? JSONSerialization.jsonObject(with: body)
        if http.statusCode == 200, let id = value(json, "result", "task", "id") as? String { return .acknowledged(id) }
        if http.statusCode >= 400, let directory = TestRunRecord.directory {
            // Error messages are searched for secrets after the run, as ServerProcess does.
            try? body.write(to: directory.appendingPathComponent("reply-\(UUID().uuidString)-\(http.statusCode).body"))
        }
        return .refused(status: http.statusCode, code: value(json, "error", "code") as? Int,
                        retryAfter: http.value(forHTTPHeaderField: "Retry-After") != nil,
                        message: (value(json, "error", "message") as? String) ?? String(decoding: body.prefix(300), as: UTF8.self))
    }

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 256
        configuration.timeoutIntervalForRequest = 120
        return URLSession(configuration: configuration)
    }()

    /// Submits `count` tasks round-robin over `targets`; each must be acknowledged.
    func submitAll(_ count: Int, to targets: [ServerProcess], label: String) async throws -> [String] {
        var ids: [String] = []
        for index in 0..<count {
            let question = Self.questions[index % Self.questions.count] + " (\(label) \(index))"
            switch try await submit(question, to: targets[index % targets.count]) {
            case let .acknowledged(id): ids.append(id)
            case let .refused(status, code, _, message):
                throw ServerProcess.Failure("submission \(index) refused: HTTP \(status), code \(code.map(String.init) ?? "none"): \(message)")
            }
        }
        return ids
    }

    static let questions = [
        "How are tasks resumed after a crash?", "How do I restore a backup?", "What does the work queue lease mean?",
        "How are API keys revoked?", "How does hybrid search rank passages?", "How are citations checked?",
    ]

    /// Polls GetTask through `readers` (round-robin) until every task has ended or `seconds`
    /// pass; returns each task's last state (nil: never answered).
    func waitUntilEnded(_ ids: [String], via readers: [ServerProcess], within seconds: Double = 120) async throws -> [String: String] {
        var states: [String: String] = [:]
        let deadline = Date().addingTimeInterval(seconds)
        var turn = 0
        while Date() < deadline {
            let open = ids.filter { !Self.terminal.contains(states[$0] ?? "") }
            if open.isEmpty { break }
            for id in open {
                turn += 1
                let reply = try await readers[turn % readers.count].rpc("GetTask", params: ["id": id, "historyLength": 0], key: nil)
                if let state = value(try? reply.json(), "result", "status", "state") as? String { states[id] = state }
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        return states
    }

    static let terminal: Set<String> = ["TASK_STATE_COMPLETED", "TASK_STATE_FAILED", "TASK_STATE_CANCELED", "TASK_STATE_REJECTED"]

    // MARK: The database, read directly

    /// SQL as the superuser in this set's database; psql's unaligned, tuples-only lines.
    @discardableResult
    func sql(_ statement: String) async throws -> [String] {
        try await cluster.superuserSQL(statement, database: database).split(separator: "\n").map(String.init)
    }

    /// One change of a claim in `ares_task_queue`, as the trigger logged it.
    struct ClaimChange: Sendable {
        enum Kind: String { case claim, release, end }
        var sequence: Int
        var taskID: String
        var kind: Kind
        var oldHolder: String?
        var newHolder: String?
        var oldAttempt: Int
        var newAttempt: Int?
        /// The lease the row had before the change, in the database's clock (epoch seconds).
        var oldExpiry: Double?
        /// When the change was made, in the database's clock (epoch seconds).
        var at: Double
    }

    /// A trigger that logs claims (attempts grew, or a row inserted already claimed: a
    /// submission that its replica runs), releases (holder cleared, attempt kept) and ends (the
    /// row deleted) with `clock_timestamp()`; renewals are not logged. It runs in the
    /// changing transaction, so a change that did not commit left no line either.
    private func installClaimLog() async throws {
        try await sql("""
            CREATE TABLE failover_claim_log (
                sequence bigserial PRIMARY KEY, task_id text NOT NULL, kind text NOT NULL,
                old_holder text, new_holder text, old_attempt bigint NOT NULL, new_attempt bigint,
                old_expiry timestamptz, at timestamptz NOT NULL DEFAULT clock_timestamp());
            ALTER TABLE failover_claim_log OWNER TO ares;
            CREATE FUNCTION failover_log_claim() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    -- A submission written already claimed by the replica that runs it.
                    IF NEW.lease_holder IS NOT NULL THEN
                        INSERT INTO failover_claim_log (task_id, kind, new_holder, old_attempt, new_attempt)
                        VALUES (NEW.task_id, 'claim', NEW.lease_holder, 0, NEW.attempts);
                    END IF;
                    RETURN NEW;
                END IF;
                IF TG_OP = 'DELETE' THEN
                    INSERT INTO failover_claim_log (task_id, kind, old_holder, old_attempt, old_expiry)
                    VALUES (OLD.task_id, 'end', OLD.lease_holder, OLD.attempts, OLD.lease_expires_at);
                    RETURN OLD;
                END IF;
                IF NEW.attempts > OLD.attempts OR (NEW.lease_holder IS NULL AND OLD.lease_holder IS NOT NULL) THEN
                    INSERT INTO failover_claim_log (task_id, kind, old_holder, new_holder, old_attempt, new_attempt, old_expiry)
                    VALUES (NEW.task_id, CASE WHEN NEW.attempts > OLD.attempts THEN 'claim' ELSE 'release' END,
                            OLD.lease_holder, NEW.lease_holder, OLD.attempts, NEW.attempts, OLD.lease_expires_at);
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER failover_claim_log AFTER INSERT OR UPDATE OR DELETE ON ares_task_queue
                FOR EACH ROW EXECUTE FUNCTION failover_log_claim();
            """)
    }

    func claimLog() async throws -> [ClaimChange] {
        let lines = try await sql("""
            SELECT sequence, task_id, kind, coalesce(old_holder, ''), coalesce(new_holder, ''), old_attempt,
                   coalesce(new_attempt, -1), coalesce(extract(epoch FROM old_expiry)::float8, -1), extract(epoch FROM at)::float8
            FROM failover_claim_log ORDER BY sequence
            """)
        return try lines.map { line in
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 9, let sequence = Int(fields[0]), let kind = ClaimChange.Kind(rawValue: fields[2]),
                  let oldAttempt = Int(fields[5]), let newAttempt = Int(fields[6]), let oldExpiry = Double(fields[7]), let at = Double(fields[8]) else {
                throw ServerProcess.Failure("unreadable claim log line: \(line)")
            }
            return ClaimChange(sequence: sequence, taskID: fields[1], kind: kind, oldHolder: fields[3].isEmpty ? nil : fields[3],
                               newHolder: fields[4].isEmpty ? nil : fields[4], oldAttempt: oldAttempt,
                               newAttempt: newAttempt < 0 ? nil : newAttempt, oldExpiry: oldExpiry < 0 ? nil : oldExpiry, at: at)
        }
    }

    /// The index of the replica that holds task `id`'s claim, once one does (nil after `seconds`).
    func replicaRunning(_ id: String, within seconds: Double = 60) async throws -> Int? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            for index in replicas.indices where try await leases(heldBy: Self.name(index))[id] != nil { return index }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// The claims `holder` has now: task id and attempt.
    func leases(heldBy holder: String) async throws -> [String: Int] {
        var held: [String: Int] = [:]
        for line in try await sql("SELECT task_id, attempts FROM ares_task_queue WHERE lease_holder = '\(holder)' AND lease_expires_at > now()") {
            let fields = line.split(separator: "|").map(String.init)
            if fields.count == 2, let attempt = Int(fields[1]) { held[fields[0]] = attempt }
        }
        return held
    }

    /// What every connection to this database is doing (pg_stat_activity), for failure messages:
    /// a transaction left open, a wait on a lock.
    func activity() async -> String {
        (try? await sql("""
            SELECT pid, state, coalesce(wait_event_type || ':' || wait_event, '-'), coalesce(to_char(xact_start, 'HH24:MI:SS'), '-'),
                   left(regexp_replace(query, '\\s+', ' ', 'g'), 100)
            FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
            """).joined(separator: "\n")) ?? "(pg_stat_activity unreadable)"
    }

    /// What the database holds of `ids`: each task's work-queue row (lease holder, expiry,
    /// attempts; "no row" when it is gone) and its recorded event types, for a failure message.
    func whereabouts(of ids: [String]) async -> String {
        var lines: [String] = []
        for id in ids.prefix(5) where id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) {
            let row = (try? await sql("""
                SELECT coalesce(lease_holder, '-') || ' until ' || coalesce(to_char(lease_expires_at, 'HH24:MI:SS.MS'), '-')
                       || ', attempts ' || attempts FROM ares_task_queue WHERE task_id = '\(id)'
                """).first) ?? "no row"
            let types = (try? await sql("SELECT string_agg(type, ',' ORDER BY version) FROM ares_events WHERE stream = '\(id)'").first) ?? "?"
            lines.append("\(id): queue \(row); events \(types)")
        }
        return lines.joined(separator: "\n")
    }

    /// Rows left in the work queue (every run ended releases its row).
    func queueRows() async throws -> Int {
        Int(try await sql("SELECT count(*) FROM ares_task_queue").first ?? "") ?? -1
    }

    /// Every task stream in the database: its events in version order, decoded.
    func taskStreams() async throws -> [String: [(version: Int, type: String, event: TaskEvent)]] {
        var streams: [String: [(version: Int, type: String, event: TaskEvent)]] = [:]
        var decoders: [String: TaskEventStreamDecoder] = [:]  // later events refer to earlier ones (issue 12)
        let lines = try await sql("SELECT stream, version, type, encode(payload, 'hex') FROM ares_events WHERE stream LIKE 'task-%' ORDER BY stream, version")
        for line in lines {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4, let version = Int(fields[1]), let payload = Self.bytes(hex: fields[3]) else {
                throw ServerProcess.Failure("unreadable event line: \(line.prefix(200))")
            }
            streams[fields[0], default: []].append((version, fields[2], try decoders[fields[0], default: TaskEventStreamDecoder()].decode(payload).event))
        }
        return streams
    }

    private static func bytes(hex: String) -> Data? {
        var data = Data(capacity: hex.utf8.count / 2)
        var high: UInt8?
        for character in hex.utf8 {
            let nibble: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = character - UInt8(ascii: "a") + 10
            default: return nil
            }
            if let first = high {
                data.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return high == nil ? data : nil
    }

    /// What is wrong with a task's stream, if anything: versions 1…n without gaps, a fold that
    /// accepts every event in order and ends completed, and each step once: one plan, one
    /// report, one citation check, one end, at most one critique and one revision per round,
    /// and evidence at most once per sub-question and round (the fold alone would accept a
    /// second EvidenceFound while other sub-questions of the round are pending).
    static func problems(ofStream events: [(version: Int, type: String, event: TaskEvent)]) -> [String] {
        var problems: [String] = []
        if events.map(\.version) != Array(1...max(1, events.count)) || events.isEmpty {
            problems.append("versions are not 1…\(events.count): \(events.map(\.version))")
        }
        do {
            let state = try TaskState.fold(events.map(\.event))
            if state.phase != .completed { problems.append("ended \(state.phase?.rawValue ?? "nowhere"): \(state.endReason ?? "")") }
        } catch {
            problems.append("the fold refused it: \(error)")
        }
        var once: [String: Int] = [:]
        for (_, type, event) in events {
            let key: String = switch event {
            case let .evidenceFound(id, round, _, _): "EvidenceFound \(id) round \(round)"
            case let .critiqueIssued(round, _): "CritiqueIssued round \(round)"
            case let .revised(round, _): "TaskRevised round \(round)"
            case .subQuestionStarted: ""
            default: type
            }
            if !key.isEmpty { once[key, default: 0] += 1 }
        }
        for (step, count) in once.sorted(by: { $0.key < $1.key }) where count > 1 { problems.append("\(step) recorded \(count) times") }
        return problems
    }

    /// `ares db verify` on this set's database: every hash chain.
    func verifyChains() async throws -> AresProcess.Outcome {
        try await ServerProcess.ares(["db", "verify"], environment: environment)
    }
}
