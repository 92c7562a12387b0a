import Foundation
import Instrumentation
import ServiceContextModule
import Tracing

/// A swift-distributed-tracing tracer that exports spans over OTLP/HTTP (JSON) and propagates
/// W3C Trace Context (`traceparent`). Bootstrapped by `ares serve` only when an OTLP endpoint
/// is configured; otherwise the no-op tracer costs nothing.
public final class OTLPTracer: Tracer, Sendable {
    public typealias Span = OTLPSpan
    public let exporter: OTLPExporter

    public init(exporter: OTLPExporter) {
        self.exporter = exporter
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> OTLPSpan {
        let parentContext = context()
        let identity: TraceIdentity
        var parent = parentContext[TraceIdentityKey.self]
        if let root = parentContext[RootSpanIdentityKey.self] {
            identity = root
            parent = nil
        } else if let parent {
            identity = TraceIdentity(traceID: parent.traceID, spanID: TraceIdentity.newSpanID())
        } else {
            identity = .random()
        }
        return OTLPSpan(name: operationName, identity: identity, parentSpanID: parent?.spanID, kind: kind,
                        start: instant().nanosecondsSinceEpoch, context: parentContext, exporter: exporter)
    }

    public func activeSpan(identifiedBy context: ServiceContext) -> OTLPSpan? { nil }

    public func forceFlush() {
        exporter.flushSoon()
    }

    public func extract<Carrier, Extract>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract: Extractor, Extract.Carrier == Carrier {
        if let header = extractor.extract(key: "traceparent", from: carrier), let identity = TraceIdentity(traceparent: header) {
            context[TraceIdentityKey.self] = identity
        }
    }

    public func inject<Carrier, Inject>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject: Injector, Inject.Carrier == Carrier {
        if let identity = context[TraceIdentityKey.self] {
            injector.inject(identity.traceparent, forKey: "traceparent", into: &carrier)
        }
    }
}
