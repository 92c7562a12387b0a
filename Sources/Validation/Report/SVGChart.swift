import Foundation

/// Small charts drawn as inline SVG (no script, no external file), so report.html is one
/// self-contained file that any browser shows and any diff tool can read.
public enum SVGChart {
    public struct Series: Sendable {
        public var name: String
        public var color: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, color: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.color = color
            self.points = points
        }
    }

    public struct Bar: Sendable {
        public var label: String
        public var values: [(name: String, color: String, value: Double)]
        public init(label: String, values: [(name: String, color: String, value: Double)]) {
            self.label = label
            self.values = values
        }
    }

    static let width = 720.0, height = 260.0
    static let left = 64.0, right = 16.0, top = 28.0, bottom = 40.0

    /// A line chart; `yLabel` names the unit. An empty chart says that there was nothing to draw.
    public static func line(title: String, xLabel: String, yLabel: String, series: [Series]) -> String {
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        guard !all.isEmpty else { return empty(title) }
        let xMax = max(all.map(\.x).max() ?? 1, 1e-9), xMin = min(all.map(\.x).min() ?? 0, xMax)
        let yMax = niceCeiling(max(all.map(\.y).max() ?? 1, 1e-9))
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func px(_ x: Double) -> Double { left + (xMax > xMin ? (x - xMin) / (xMax - xMin) : 0.5) * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight - min(1, max(0, y / yMax)) * plotHeight }
        var svg = open(title)
        svg += axes(xTicks: ticks(xMin, xMax).map { (px($0), label($0)) }, yTicks: ticks(0, yMax).map { (py($0), label($0)) },
                    xLabel: xLabel, yLabel: yLabel)
        for (index, series) in series.enumerated() {
            let points = series.points.filter { $0.x.isFinite && $0.y.isFinite }
            guard !points.isEmpty else { continue }
            let path = points.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"1.6\" points=\"\(path)\"/>"
            if points.count == 1, let point = points.first {
                svg += "<circle cx=\"\(n(px(point.x)))\" cy=\"\(n(py(point.y)))\" r=\"3\" fill=\"\(series.color)\"/>"
            }
            svg += legend(index, series.name, series.color)
        }
        return svg + "</svg>"
    }

    /// Grouped bars, one group per label.
    public static func bars(title: String, yLabel: String, bars: [Bar]) -> String {
        let values = bars.flatMap { $0.values.map(\.value) }.filter(\.isFinite)
        guard !values.isEmpty else { return empty(title) }
        let yMax = niceCeiling(max(values.max() ?? 1, 1e-9))
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func py(_ y: Double) -> Double { top + plotHeight - min(1, max(0, y / yMax)) * plotHeight }
        let groupWidth = plotWidth / Double(max(1, bars.count))
        var svg = open(title)
        svg += axes(xTicks: bars.enumerated().map { (left + groupWidth * (Double($0.offset) + 0.5), escape($0.element.label)) },
                    yTicks: ticks(0, yMax).map { (py($0), label($0)) }, xLabel: "", yLabel: yLabel)
        for (group, bar) in bars.enumerated() {
            let barWidth = groupWidth * 0.8 / Double(max(1, bar.values.count))
            for (index, value) in bar.values.enumerated() where value.value.isFinite {
                let x = left + groupWidth * Double(group) + groupWidth * 0.1 + barWidth * Double(index)
                svg += "<rect x=\"\(n(x))\" y=\"\(n(py(value.value)))\" width=\"\(n(max(1, barWidth - 1)))\" height=\"\(n(max(0, top + plotHeight - py(value.value))))\" fill=\"\(value.color)\"><title>\(escape(value.name)): \(label(value.value))</title></rect>"
            }
        }
        for (index, value) in (bars.first?.values ?? []).enumerated() { svg += legend(index, value.name, value.color) }
        return svg + "</svg>"
    }

    private static func open(_ title: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(width))\" height=\"\(n(height))\" font-family=\"sans-serif\" font-size=\"11\" role=\"img\"><title>\(escape(title))</title><text x=\"\(n(left))\" y=\"16\" font-size=\"13\" font-weight=\"bold\">\(escape(title))</text>"
    }

    private static func empty(_ title: String) -> String {
        open(title) + "<text x=\"\(left)\" y=\"\(height / 2)\" fill=\"#888\">no data</text></svg>"
    }

    private static func axes(xTicks: [(Double, String)], yTicks: [(Double, String)], xLabel: String, yLabel: String) -> String {
        var svg = line(left, height - bottom, width - right, height - bottom, "#444") + line(left, top, left, height - bottom, "#444")
        for (y, text) in yTicks {
            svg += line(left, y, width - right, y, "#ddd")
            svg += "<text x=\"\(n(left - 4))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(text)</text>"
        }
        for (x, text) in xTicks {
            svg += "<text x=\"\(n(x))\" y=\"\(n(height - bottom + 14))\" text-anchor=\"middle\">\(text)</text>"
        }
        svg += "<text x=\"\(n(left + (width - left - right) / 2))\" y=\"\(n(height - 6))\" text-anchor=\"middle\">\(escape(xLabel))</text>"
        let middle = n(top + (height - top - bottom) / 2)
        svg += "<text x=\"12\" y=\"\(middle)\" transform=\"rotate(-90 12 \(middle))\" text-anchor=\"middle\">\(escape(yLabel))</text>"
        return svg
    }

    private static func legend(_ index: Int, _ name: String, _ color: String) -> String {
        let x = width - right - 130, y = top + 4 + Double(index) * 14
        return "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"10\" height=\"10\" fill=\"\(color)\"/><text x=\"\(n(x + 14))\" y=\"\(n(y + 9))\">\(escape(name))</text>"
    }

    private static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ color: String) -> String {
        "<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(color)\"/>"
    }

    /// A coordinate with one decimal.
    static func n(_ value: Double) -> String { String(format: "%.1f", value.isFinite ? value : 0) }

    /// 1, 2 or 5 times a power of ten, at or above `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value.isFinite, value > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for step in [1.0, 2, 5, 10] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    static func ticks(_ low: Double, _ high: Double) -> [Double] {
        guard high > low, high.isFinite, low.isFinite else { return [low] }
        return (0...4).map { low + (high - low) * Double($0) / 4 }
    }

    static func label(_ value: Double) -> String {
        if value == 0 { return "0" }
        if abs(value) >= 1_000_000 { return String(format: "%.1fM", value / 1_000_000) }
        if abs(value) >= 10_000 { return String(format: "%.0fk", value / 1000) }
        if abs(value) >= 100 { return String(format: "%.0f", value) }
        if abs(value) >= 1 { return String(format: "%.1f", value) }
        return String(format: "%.2f", value)
    }

    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
