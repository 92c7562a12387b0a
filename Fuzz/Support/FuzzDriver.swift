import CLibFuzzer
import Dispatch
import Foundation

/// One fuzz target: called with every input libFuzzer generates, on libFuzzer's thread, one
/// at a time. It must return normally for any input; a trap (a Swift runtime check, a
/// precondition) is the crash libFuzzer reports.
public protocol FuzzTarget: AnyObject {
    func run(_ input: UnsafeRawBufferPointer)
}

/// The `main` of every fuzz executable.
///
/// Built with `-sanitize=fuzzer -DARES_FUZZING` (scripts/fuzz.sh), it hands the command line to
/// libFuzzer (`LLVMFuzzerRunDriver`): every libFuzzer flag works, and a file argument replays
/// that input. SwiftPM links executables with `main` renamed to this module's entry point, which
/// takes precedence over libFuzzer's own `main`; that is why the driver is called explicitly.
///
/// Built without the sanitizer (a plain `ARES_FUZZ=1 swift build`), it replays the files and
/// folders given as arguments once each: a quick check that the seed corpus or a crash input
/// runs, without coverage feedback.
public enum FuzzDriver {
    nonisolated(unsafe) private static var target: (any FuzzTarget)?

    public static func run(_ target: any FuzzTarget) -> Never {
        Self.target = target
        ares_fuzz_set_callback { data, size in
            FuzzDriver.target?.run(UnsafeRawBufferPointer(start: size == 0 ? nil : data, count: size))
            return 0
        }
        #if ARES_FUZZING
        if ProcessInfo.processInfo.environment["SWIFT_BACKTRACE"] == nil {
            FileHandle.standardError.write(Data("""
                fuzz: SWIFT_BACKTRACE is not set: Swift's backtracer will take a crash before libFuzzer can save the input. \
                Run with SWIFT_BACKTRACE=enable=no (scripts/fuzz.sh does).\n
                """.utf8))
        }
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput))
        #else
        exit(replay(Array(CommandLine.arguments.dropFirst().filter { !$0.hasPrefix("-") })))
        #endif
    }

    /// Runs each file (folders: each file in them) through the target once.
    static func replay(_ paths: [String]) -> Int32 {
        guard !paths.isEmpty else {
            FileHandle.standardError.write(Data("usage: \(CommandLine.arguments[0]) FILE-OR-FOLDER... (built without -sanitize=fuzzer: replay only)\n".utf8))
            return 2
        }
        var files: [URL] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("no such file: \(path)\n".utf8))
                return 2
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.sorted().map { URL(fileURLWithPath: path).appendingPathComponent($0) }
            } else {
                files.append(URL(fileURLWithPath: path))
            }
        }
        for file in files {
            guard let data = try? Data(contentsOf: file) else { continue }
            data.withUnsafeBytes { target?.run($0) }
            print("ran \(file.path) (\(data.count) bytes)")
        }
        return 0
    }
}

/// Runs async work to completion from libFuzzer's synchronous callback. The work runs on the
/// global concurrent executor, never on the blocked thread, so it cannot deadlock on it.
public func runBlocking<Value: Sendable>(_ operation: @escaping @Sendable () async -> Value) -> Value {
    let box = ResultBox<Value>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        box.value = await operation()
        done.signal()
    }
    done.wait()
    return box.value!
}

private final class ResultBox<Value>: @unchecked Sendable {
    var value: Value?
}

/// Runs `operation`, giving up (cancelling it) after `timeout`. For streams that a fuzz input
/// may keep open: their consumers stop at cancellation.
public func withTimeLimit(_ timeout: Duration, _ operation: @escaping @Sendable () async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        group.addTask { await operation() }
        group.addTask { try? await Task.sleep(for: timeout) }
        await group.next()
        group.cancelAll()
    }
}

/// Stops the fuzzer with a message: a broken invariant of the code under test, reported as a
/// crash (with the input saved) like any trap.
public func fuzzFailure(_ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError("fuzz invariant broken: \(message())", file: file, line: line)
}

/// Scratch folders under $TMPDIR, removed when the process exits normally.
public enum FuzzScratch {
    nonisolated(unsafe) private static var created: [URL] = []
    nonisolated(unsafe) private static var registered = false

    public static func makeDirectory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("ares-fuzz-\(getpid())-\(name)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        created.append(url)
        if !registered {
            registered = true
            atexit { FuzzScratch.removeAll() }
        }
        return url
    }

    public static func remove(_ url: URL) {
        try? FileManager.default.removeItem(at: url)
        created.removeAll { $0 == url }
    }

    static func removeAll() {
        for url in created { try? FileManager.default.removeItem(at: url) }
        created = []
    }
}

/// Little readers for structured fuzz inputs.
public struct FuzzBytes {
    public let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ input: UnsafeRawBufferPointer) { bytes = Array(input) }

    public var remaining: Int { bytes.count - offset }

    public mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return Array(bytes[offset...])
    }
}
