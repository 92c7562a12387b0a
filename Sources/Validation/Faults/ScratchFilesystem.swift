import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A filesystem made for one validation run, to fill: an ext4 image loop-mounted (a real disk
/// filesystem, as a volume would be), or when loop devices are not allowed a tmpfs with a size
/// limit. Needs root (mount); when neither can be made, `make` says why and the disk-full part
/// reports "not run" with that reason. `fill(to:)` writes a filler file until the filesystem is
/// used to the ratio asked.
public final class ScratchFilesystem: @unchecked Sendable {
    // @unchecked: one validation task makes, fills and removes it, in that order.
    public enum Kind: String, Sendable { case loopExt4 = "ext4 image, loop-mounted", tmpfs = "tmpfs" }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let mountPoint: URL
    public let kind: Kind
    public let sizeBytes: Int64
    private let image: URL?
    private var mounted = true

    private init(mountPoint: URL, kind: Kind, sizeBytes: Int64, image: URL?) {
        self.mountPoint = mountPoint
        self.kind = kind
        self.sizeBytes = sizeBytes
        self.image = image
    }

    /// Makes and mounts a filesystem of `sizeBytes` under `workDirectory`.
    public static func make(sizeBytes: Int64, in workDirectory: URL) throws -> ScratchFilesystem {
        let mountPoint = workDirectory.appendingPathComponent("mnt")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        let image = workDirectory.appendingPathComponent("filesystem.img")
        var problems: [String] = []
        do {
            guard FileManager.default.createFile(atPath: image.path, contents: nil) else { throw Failure(description: "cannot create \(image.path)") }
            let handle = try FileHandle(forWritingTo: image)
            try handle.truncate(atOffset: UInt64(max(0, sizeBytes)))
            try handle.close()
            try run("mkfs.ext4", ["-q", "-F", "-m", "0", image.path])
            try run("mount", ["-o", "loop", image.path, mountPoint.path])
            return ScratchFilesystem(mountPoint: mountPoint, kind: .loopExt4, sizeBytes: sizeBytes, image: image)
        } catch {
            problems.append("loop-mounted ext4: \(error)")
            try? FileManager.default.removeItem(at: image)
        }
        do {
            try run("mount", ["-t", "tmpfs", "-o", "size=\(sizeBytes)", "tmpfs", mountPoint.path])
            return ScratchFilesystem(mountPoint: mountPoint, kind: .tmpfs, sizeBytes: sizeBytes, image: nil)
        } catch {
            problems.append("tmpfs: \(error)")
        }
        throw Failure(description: "no filesystem could be made for the run (" + problems.joined(separator: "; ") + ")")
    }

    /// Used over total blocks, as `df` shows it.
    public var usedRatio: Double {
        var info = statvfs()
        guard statvfs(mountPoint.path, &info) == 0, info.f_blocks > 0 else { return 0 }
        let total = Double(info.f_blocks), free = Double(info.f_bfree)
        return (total - free) / total
    }

    public var freeBytes: Int64 {
        var info = statvfs()
        guard statvfs(mountPoint.path, &info) == 0 else { return 0 }
        let (bytes, overflow) = UInt64(info.f_bavail).multipliedReportingOverflow(by: UInt64(info.f_frsize))
        return overflow || bytes > UInt64(Int64.max) ? Int64.max : Int64(bytes)
    }

    /// Writes `filler` until the filesystem is used to `ratio` (0…1); returns the ratio reached.
    @discardableResult
    public func fill(to ratio: Double) throws -> Double {
        let filler = mountPoint.appendingPathComponent("filler")
        if !FileManager.default.fileExists(atPath: filler.path) {
            guard FileManager.default.createFile(atPath: filler.path, contents: nil) else { throw Failure(description: "cannot create \(filler.path)") }
        }
        let handle = try FileHandle(forWritingTo: filler)
        defer { try? handle.close() }
        try handle.seekToEnd()
        let chunk = Data(count: 1 << 20)
        while usedRatio < ratio {
            let missing = (ratio - usedRatio) * Double(sizeBytes)
            try handle.write(contentsOf: missing >= Double(chunk.count) ? chunk : Data(count: max(4096, Int(missing))))
            try handle.synchronize()
        }
        return usedRatio
    }

    /// Unmounts and removes the image; safe to call twice.
    public func remove() {
        guard mounted else { return }
        mounted = false
        if (try? Self.run("umount", [mountPoint.path])) == nil { try? Self.run("umount", ["-l", mountPoint.path]) }
        if let image { try? FileManager.default.removeItem(at: image) }
        try? FileManager.default.removeItem(at: mountPoint)
    }

    deinit { remove() }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        // sbin holds mkfs and mount; a caller's PATH may not.
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = (environment["PATH"].map { $0 + ":" } ?? "") + "/usr/sbin:/sbin:/usr/bin:/bin"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(tool) exited with \(process.terminationStatus)\(text.isEmpty ? "" : ": " + String(text.prefix(300)))")
        }
        return text
    }
}
