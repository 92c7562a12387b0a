import Foundation
import Logging
import Synchronization

/// A swift-log handler that writes one JSON object per line (to standard error by default):
/// timestamp, level, label, message and metadata as fields, for log collectors.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let sink: JSONLogSink

    public init(label: String, level: Logger.Level = .info, sink: JSONLogSink = .standardError) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: JSONValue] = [
            "ts": .string(Self.timestamp()),
            "level": .string(event.level.rawValue),
            "logger": .string(label),
            "msg": .string(event.message.description),
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new }) {
            fields[key] = Self.json(value)
        }
        sink.write(fields)
    }

    private static func json(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case let .string(text): .string(text)
        case let .stringConvertible(convertible):
            if let number = convertible as? Int { .integer(Int64(number)) }
            else if let number = convertible as? Double { .number(number) }
            else { .string(convertible.description) }
        case let .array(values): .array(values.map(json))
        case let .dictionary(values): .object(values.mapValues(json))
        }
    }

    private static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}

/// Where JSON log lines go; one write per line, serialized.
public final class JSONLogSink: Sendable {
    public static let standardError = JSONLogSink(handle: .standardError)
    private let handle: Mutex<FileHandle>
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public init(handle: FileHandle) {
        self.handle = Mutex(handle)
    }

    func write(_ fields: [String: JSONValue]) {
        guard var line = try? encoder.encode(fields) else { return }
        line.append(UInt8(ascii: "\n"))
        handle.withLock { $0.write(line) }
    }
}
