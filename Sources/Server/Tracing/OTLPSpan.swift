import Foundation
import Instrumentation
import ServiceContextModule
import Synchronization
import Tracing

/// A span recorded by `OTLPTracer`: mutable while open, handed to the exporter when it ends.
public final class OTLPSpan: Tracing.Span, Sendable {
    struct Record: Sendable {
        var name: String
        var identity: TraceIdentity
        var parentSpanID: [UInt8]?
        var kind: SpanKind
        var startNanoseconds: UInt64
        var endNanoseconds: UInt64 = 0
        var attributes: [(String, SpanAttribute)] = []
        var events: [(name: String, nanoseconds: UInt64)] = []
        var status: SpanStatus?
    }

    private struct State {
        var record: Record
        var attributes: SpanAttributes = [:]
        var ended = false
    }

    public let context: ServiceContext
    private let state: Mutex<State>
    private let exporter: OTLPExporter

    init(name: String, identity: TraceIdentity, parentSpanID: [UInt8]?, kind: SpanKind, start: UInt64,
         context: ServiceContext, exporter: OTLPExporter) {
        var context = context
        context[TraceIdentityKey.self] = identity
        self.context = context
        self.exporter = exporter
        state = Mutex(State(record: Record(name: name, identity: identity, parentSpanID: parentSpanID, kind: kind, startNanoseconds: start)))
    }

    public var operationName: String {
        get { state.withLock { $0.record.name } }
        set { state.withLock { $0.record.name = newValue } }
    }

    public var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set { state.withLock { $0.attributes = newValue } }
    }

    public var isRecording: Bool { state.withLock { !$0.ended } }

    public func setStatus(_ status: SpanStatus) {
        state.withLock { $0.record.status = status }
    }

    public func addEvent(_ event: SpanEvent) {
        state.withLock { $0.record.events.append((event.name, event.nanosecondsSinceEpoch)) }
    }

    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        let when = instant().nanosecondsSinceEpoch
        state.withLock {
            $0.record.events.append(("exception: \(error)", when))
            $0.record.status = SpanStatus(code: .error, message: "\(error)")
        }
    }

    public func addLink(_ link: SpanLink) {}

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let when = instant().nanosecondsSinceEpoch
        let finished = state.withLock { state -> Record? in
            guard !state.ended else { return nil }
            state.ended = true
            state.record.endNanoseconds = when
            var attributes: [(String, SpanAttribute)] = []
            state.attributes.forEach { attributes.append(($0, $1)) }
            state.record.attributes = attributes
            return state.record
        }
        if let finished { exporter.enqueue(finished) }
    }
}
