import Foundation

/// PDFs made during a test from known text, with Debian's tools: the text is typeset as
/// PostScript (written here) and turned into a PDF by Ghostscript's `ps2pdf`; `qpdf` encrypts
/// one, Ghostscript's `pdfimage24` device rasterises one into an image-only PDF (a "scan").
/// A missing tool fails the test with what to install (`.ci/run` installs them). Used by the
/// knowledge-base tests and the command-line tests.
public enum PDFFixture {
    public struct ToolFailure: Error, CustomStringConvertible {
        public var description: String
    }

    /// One page: lines of text from the top; an empty string leaves a blank line (a paragraph
    /// break in the extracted text).
    public typealias Page = [String]

    /// Writes a PDF of `pages` (with `title` in its document information, if given) to `url`.
    public static func write(_ pages: [Page], title: String? = nil, to url: URL) throws {
        let postScript = url.deletingPathExtension().appendingPathExtension("ps")
        try Data(Self.postScript(pages, title: title).utf8).write(to: postScript)
        defer { try? FileManager.default.removeItem(at: postScript) }
        try run("ps2pdf", [postScript.path, url.path], package: "ghostscript")
    }

    /// Encrypts `input` into `output` with AES-256 and a user password, as `qpdf` does.
    public static func encrypt(_ input: URL, to output: URL, userPassword: String, ownerPassword: String) throws {
        try run("qpdf", ["--encrypt", userPassword, ownerPassword, "256", "--", input.path, output.path], package: "qpdf")
    }

    /// Renders every page of `input` to pixels and writes them as a PDF of images only.
    public static func rasterize(_ input: URL, to output: URL) throws {
        try run("gs", ["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfimage24", "-r72", "-o", output.path, input.path],
                package: "ghostscript")
    }

    public static func postScript(_ pages: [Page], title: String?) -> String {
        var lines = ["%!PS-Adobe-3.0"]
        if let title { lines.append("[ /Title (\(escaped(title))) /DOCINFO pdfmark") }
        for page in pages {
            lines.append("/Helvetica findfont 11 scalefont setfont")
            var y = 740
            for line in page {
                if !line.isEmpty { lines.append("60 \(y) moveto (\(escaped(line))) show") }
                y -= line.isEmpty ? 22 : 14
            }
            lines.append("showpage")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A PostScript string literal's content: backslash and parentheses escaped.
    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "(", with: "\\(").replacingOccurrences(of: ")", with: "\\)")
    }

    /// Runs a tool found on PATH; a missing tool or a failure is an error that says what to do.
    public static func run(_ tool: String, _ arguments: [String], package: String) throws {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else {
            throw ToolFailure(description: "`\(tool)` is not installed: apt-get install \(package) (.ci/run installs it)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ToolFailure(description: "\(tool) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): "
                              + String(decoding: message, as: UTF8.self))
        }
    }
}
