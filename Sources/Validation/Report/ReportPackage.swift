import Foundation

/// Writes the Go/No-Go package into a directory: report.json (every measurement, threshold
/// and verdict), report.md, report.html and histograms/*.hgrm (HdrHistogram's percentile
/// distribution text, the format wrk2 prints and HdrHistogram's plotter reads).
public enum ReportPackage {
    public static func write(_ report: ValidationReport, to directory: URL) throws {
        let manager = FileManager.default
        try manager.createDirectory(at: directory.appendingPathComponent("histograms"), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try encoder.encode(report).write(to: directory.appendingPathComponent("report.json"), options: .atomic)
        try Data(MarkdownReport.render(report).utf8).write(to: directory.appendingPathComponent("report.md"), options: .atomic)
        try Data(HTMLReport.render(report).utf8).write(to: directory.appendingPathComponent("report.html"), options: .atomic)
        for (file, measurement) in ReportTables.histograms(report) {
            try Data(measurement.percentileDistribution.utf8).write(to: directory.appendingPathComponent("histograms").appendingPathComponent(file), options: .atomic)
        }
    }
}
