import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import Tracing

/// Batches ended spans and POSTs them to an OTLP/HTTP collector (`<endpoint>/v1/traces`,
/// JSON encoding) about once a second. The queue is bounded: when a collector is slow or
/// down, spans are dropped (and counted), never allowed to grow memory.
public final class OTLPExporter: Sendable {
    public static let maximumQueued = 4096
    public static let batchSize = 512

    private struct Queue {
        var spans: [OTLPSpan.Record] = []
        var dropped = 0
        var exported = 0
    }

    public let tracesURL: URL
    private let serviceName: String
    private let serviceVersion: String
    private let queue = Mutex(Queue())
    private let wake = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let session: URLSession

    public init(endpoint: URL, serviceName: String = "ares", serviceVersion: String) {
        tracesURL = endpoint.path.hasSuffix("/v1/traces") ? endpoint : endpoint.appendingPathComponent("v1/traces")
        self.serviceName = serviceName
        self.serviceVersion = serviceVersion
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 5
        session = URLSession(configuration: configuration)
    }

    /// Spans exported and dropped so far.
    public var counts: (exported: Int, dropped: Int) { queue.withLock { ($0.exported, $0.dropped) } }

    func enqueue(_ record: OTLPSpan.Record) {
        let full = queue.withLock { queue -> Bool in
            guard queue.spans.count < Self.maximumQueued else {
                queue.dropped += 1
                return false
            }
            queue.spans.append(record)
            return queue.spans.count >= Self.batchSize
        }
        if full { flushSoon() }
    }

    func flushSoon() {
        wake.withLock { $0?.resume(); $0 = nil }
    }

    /// Exports about once a second until cancelled; what is queued then is left for a final
    /// `exportPending()` from a task that is not cancelled (a cancelled task cannot send).
    public func run() async {
        while !Task.isCancelled {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await Task.sleep(for: .seconds(1)) }
                group.addTask { [self] in
                    await withCheckedContinuation { continuation in
                        wake.withLock { previous in
                            previous?.resume()
                            previous = continuation
                        }
                    }
                }
                await group.next()
                group.cancelAll()
                flushSoon()
            }
            if Task.isCancelled { break }
            await exportPending()
        }
    }

    /// Sends everything queued now, in batches.
    public func exportPending() async {
        while true {
            let batch = queue.withLock { queue -> [OTLPSpan.Record] in
                let batch = Array(queue.spans.prefix(Self.batchSize))
                queue.spans.removeFirst(batch.count)
                return batch
            }
            guard !batch.isEmpty else { return }
            var request = URLRequest(url: tracesURL)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = body(for: batch)
            let sent: Bool
            do {
                let (_, response) = try await session.data(for: request)
                sent = ((response as? HTTPURLResponse).map { (200..<300).contains($0.statusCode) }) ?? false
            } catch {
                sent = false
            }
            queue.withLock { queue in
                if sent { queue.exported += batch.count } else { queue.dropped += batch.count }
            }
            if !sent { return }
        }
    }

    /// The OTLP/JSON ExportTraceServiceRequest for `batch` (ids in hex, times in nanoseconds).
    func body(for batch: [OTLPSpan.Record]) -> Data {
        let spans: [JSONValue] = batch.map { record in
            var span: [String: JSONValue] = [
                "traceId": .string(record.identity.traceIDHex),
                "spanId": .string(record.identity.spanIDHex),
                "name": .string(record.name),
                "kind": .integer(Self.kindNumber(record.kind)),
                "startTimeUnixNano": .string(String(record.startNanoseconds)),
                "endTimeUnixNano": .string(String(record.endNanoseconds)),
                "attributes": .array(record.attributes.map { Self.attribute($0.0, $0.1) }),
            ]
            if let parent = record.parentSpanID { span["parentSpanId"] = .string(TraceIdentity.hex(parent)) }
            if !record.events.isEmpty {
                span["events"] = .array(record.events.map { .object(["name": .string($0.name), "timeUnixNano": .string(String($0.nanoseconds))]) })
            }
            if let status = record.status {
                var object: [String: JSONValue] = ["code": .integer(status.code == .ok ? 1 : 2)]
                if let message = status.message { object["message"] = .string(message) }
                span["status"] = .object(object)
            }
            return .object(span)
        }
        let request: JSONValue = .object(["resourceSpans": .array([.object([
            "resource": .object(["attributes": .array([
                Self.attribute("service.name", .string(serviceName)),
                Self.attribute("service.version", .string(serviceVersion)),
            ])]),
            "scopeSpans": .array([.object(["scope": .object(["name": .string("ares")]), "spans": .array(spans)])]),
        ])])])
        return (try? JSONRPCResponseWriter.encode(request)) ?? Data()
    }

    private static func kindNumber(_ kind: SpanKind) -> Int64 {
        switch kind {
        case .internal: 1
        case .server: 2
        case .client: 3
        case .producer: 4
        case .consumer: 5
        }
    }

    private static func attribute(_ key: String, _ value: SpanAttribute) -> JSONValue {
        let any: JSONValue
        switch value {
        case let .int32(number): any = .object(["intValue": .string(String(number))])
        case let .int64(number): any = .object(["intValue": .string(String(number))])
        case let .double(number): any = .object(["doubleValue": .number(number)])
        case let .bool(flag): any = .object(["boolValue": .bool(flag)])
        case let .string(text): any = .object(["stringValue": .string(text)])
        default: any = .object(["stringValue": .string("\(value)")])
        }
        return .object(["key": .string(key), "value": any])
    }
}
