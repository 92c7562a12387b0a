import Foundation
import PackagePlugin

/// Generates `BuildInfo.swift` for the `ares` executable at build time: the commit the tree was
/// checked out at (read from `.git`, no git process) and the resolved version of every Swift
/// package (from `Package.resolved`), so that `ares version --json` says exactly what a binary
/// was built from. It is a build command whose inputs are those files, so it reruns when a
/// dependency is resolved again or HEAD moves, and costs nothing otherwise. A tree without
/// `.git` (a source archive) builds too: the commit is then reported as unknown.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let root = context.package.directoryURL
        let output = context.pluginWorkDirectoryURL.appending(path: "BuildInfo.swift")
        let resolved = root.appending(path: "Package.resolved")
        let git = Self.gitDirectory(root: root)
        var inputs: [URL] = [resolved]
        if let git {
            inputs.append(git.appending(path: "HEAD"))
            inputs.append(git.appending(path: "packed-refs"))
            // The branch's ref file changes on every commit while HEAD itself does not.
            if let head = try? String(contentsOf: git.appending(path: "HEAD"), encoding: .utf8), head.hasPrefix("ref: ") {
                inputs.append(git.appending(path: head.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)))
            }
        }
        let existing = inputs.filter { FileManager.default.fileExists(atPath: $0.path) }
        return [.buildCommand(
            displayName: "Generating BuildInfo.swift (commit and dependency versions)",
            executable: try context.tool(named: "BuildInfoGenerator").url,
            arguments: [output.path, resolved.path, git?.path ?? ""],
            inputFiles: existing,
            outputFiles: [output])]
    }

    /// `.git` is a directory in a clone and a file (`gitdir: PATH`) in a worktree.
    static func gitDirectory(root: URL) -> URL? {
        let dotGit = root.appending(path: ".git")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dotGit.path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue { return dotGit }
        guard let text = try? String(contentsOf: dotGit, encoding: .utf8), text.hasPrefix("gitdir: ") else { return nil }
        let path = text.dropFirst(8).trimmingCharacters(in: .whitespacesAndNewlines)
        return path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appending(path: path)
    }
}
