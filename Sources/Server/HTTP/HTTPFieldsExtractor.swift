import HTTPTypes
import Instrumentation

/// Reads trace context (`traceparent`) from request headers for the tracer.
struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { carrier[$0] }
    }
}
