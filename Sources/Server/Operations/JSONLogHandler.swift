import Foundation
import Logging
#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#else
import Darwin
private let systemWrite = Darwin.write
#endif
import Synchronization

/// A swift-log handler that writes one JSON object per line (to standard error by default):
/// timestamp, level, label, message and metadata as fields, for log collectors. Metadata
/// comes from the logger, then its metadata provider (`OTLPTracing.logMetadataProvider`
/// adds `traceId` and `spanId` while a span is active), then the call, later ones winning;
/// an error passed to the call is its `error` field unless the metadata names one.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: JSONLogSink

    public init(label: String, level: Logger.Level = .info, metadataProvider: Logger.MetadataProvider? = nil,
                sink: JSONLogSink = .standardError) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // Written by hand rather than with JSONEncoder: a line per request must cost little.
        var line = "{\"ts\":\""
        line += RFC3339.now()
        line += "\",\"level\":\"" + event.level.rawValue + "\",\"logger\":"
        Self.appendString(label, to: &line)
        line += ",\"msg\":"
        Self.appendString(event.message.description, to: &line)
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided, uniquingKeysWith: { _, new in new })
        }
        if let given = event.metadata, !given.isEmpty {
            merged.merge(given, uniquingKeysWith: { _, new in new })
        }
        if let error = event.error, merged["error"] == nil {
            merged["error"] = .string("\(error)")
        }
        for key in merged.keys.sorted() {
            guard let value = merged[key] else { continue }
            line += ","
            Self.appendString(key, to: &line)
            line += ":"
            Self.appendValue(value, to: &line)
        }
        line += "}\n"
        sink.write(line)
    }

    private static func appendValue(_ value: Logger.MetadataValue, to line: inout String) {
        switch value {
        case let .string(text):
            appendString(text, to: &line)
        case let .stringConvertible(convertible):
            if let number = convertible as? Int {
                line += String(number)
            } else if let number = convertible as? Double, number.isFinite {
                line += String(number)
            } else if let flag = convertible as? Bool {
                line += flag ? "true" : "false"
            } else {
                appendString(convertible.description, to: &line)
            }
        case let .array(values):
            line += "["
            for (index, element) in values.enumerated() {
                if index > 0 { line += "," }
                appendValue(element, to: &line)
            }
            line += "]"
        case let .dictionary(values):
            line += "{"
            for (index, key) in values.keys.sorted().enumerated() {
                if index > 0 { line += "," }
                appendString(key, to: &line)
                line += ":"
                if let element = values[key] { appendValue(element, to: &line) }
            }
            line += "}"
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func appendString(_ text: String, to line: inout String) {
        line += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            case _ where scalar.value < 0x20:
                line += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: line.unicodeScalars.append(scalar)
            }
        }
        line += "\""
    }
}

/// Where JSON log lines go; one write per line, serialized.
public final class JSONLogSink: Sendable {
    public static let standardError = JSONLogSink(descriptor: STDERR_FILENO)
    private let descriptor: Int32
    private let lock = Mutex(())

    public init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// One `write` per line, so lines of concurrent requests never interleave.
    func write(_ line: String) {
        var line = line
        line.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return }
            lock.withLock { _ in
                var offset = 0
                while offset < bytes.count {
                    let written = systemWrite(descriptor, base + offset, bytes.count - offset)
                    if written <= 0 { break }
                    offset += written
                }
            }
        }
    }
}
