/// Why the index refused a vector or a serialized image.
public enum HNSWIndexError: Error, Equatable, CustomStringConvertible {
    case dimensionMismatch(id: UInt64, expected: Int, actual: Int)
    case nonFiniteValue(id: UInt64)
    case capacityExceeded(maximumNodes: Int)
    case truncatedData(expectedBytes: Int, actualBytes: Int)
    case notAnIndex
    case unsupportedVersion(found: UInt32, supported: UInt32)
    case checksumMismatch(stored: UInt64, computed: UInt64)
    case corruptData(String)

    public var description: String {
        switch self {
        case let .dimensionMismatch(id, expected, actual):
            "vector \(id) has \(actual) values, the index has dimension \(expected)"
        case let .nonFiniteValue(id):
            "vector \(id) contains a NaN or infinite value"
        case let .capacityExceeded(maximumNodes):
            "the index holds at most \(maximumNodes) nodes, deleted ones included"
        case let .truncatedData(expectedBytes, actualBytes):
            "serialized HNSW index is truncated or has trailing bytes: expected \(expectedBytes) bytes, got \(actualBytes)"
        case .notAnIndex:
            "data is not a serialized HNSW index (magic number missing)"
        case let .unsupportedVersion(found, supported):
            "serialized HNSW index has format version \(found); this build reads version \(supported)"
        case let .checksumMismatch(stored, computed):
            "serialized HNSW index is damaged: checksum \(String(stored, radix: 16)) stored, \(String(computed, radix: 16)) computed"
        case let .corruptData(reason):
            "serialized HNSW index is inconsistent: \(reason)"
        }
    }
}
