import Foundation

/// Writes `BuildInfo.swift` (see BuildInfoPlugin): arguments are the output file, the
/// `Package.resolved` file and the git directory (empty when there is none). Anything it cannot
/// read is reported as unknown rather than failing the build: a missing commit must not stop
/// anyone from building ares.
@main
struct BuildInfoGenerator {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard arguments.count == 3 else {
            FileHandle.standardError.write(Data("usage: BuildInfoGenerator OUTPUT PACKAGE_RESOLVED GIT_DIR\n".utf8))
            exit(2)
        }
        let values = Array(arguments)
        let commit = values[2].isEmpty ? nil : commit(gitDirectory: URL(fileURLWithPath: values[2]))
        let dependencies = dependencies(resolvedFile: URL(fileURLWithPath: values[1]))
        var source = "// Generated at build time by the BuildInfo plugin (Plugins/BuildInfoPlugin). Do not edit.\n"
        source += "enum BuildInfo {\n"
        source += "    static let commit: String? = \(commit.map(literal) ?? "nil")\n"
        source += "    static let dependencies: [(name: String, version: String, revision: String)] = [\n"
        for dependency in dependencies {
            source += "        (\(literal(dependency.name)), \(literal(dependency.version)), \(literal(dependency.revision))),\n"
        }
        source += "    ]\n}\n"
        let output = URL(fileURLWithPath: values[0])
        // Rewrite only on change, so an unchanged file does not recompile the executable.
        if (try? String(contentsOf: output, encoding: .utf8)) != source {
            try source.write(to: output, atomically: true, encoding: .utf8)
        }
    }

    /// HEAD's commit: a detached HEAD holds it, a branch is resolved through its ref file or packed-refs.
    static func commit(gitDirectory: URL) -> String? {
        guard let head = try? String(contentsOf: gitDirectory.appending(path: "HEAD"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
        guard head.hasPrefix("ref: ") else { return isCommitID(head) ? head : nil }
        let reference = String(head.dropFirst(5))
        if let loose = try? String(contentsOf: gitDirectory.appending(path: reference), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), isCommitID(loose) {
            return loose
        }
        // A worktree's refs live in the common directory, which `commondir` names.
        var directories = [gitDirectory]
        if let common = try? String(contentsOf: gitDirectory.appending(path: "commondir"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines) {
            directories.append(common.hasPrefix("/") ? URL(fileURLWithPath: common) : gitDirectory.appending(path: common))
        }
        for directory in directories {
            if let loose = try? String(contentsOf: directory.appending(path: reference), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines), isCommitID(loose) {
                return loose
            }
            guard let packed = try? String(contentsOf: directory.appending(path: "packed-refs"), encoding: .utf8) else { continue }
            for line in packed.split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 2, parts[1] == reference, isCommitID(String(parts[0])) { return String(parts[0]) }
            }
        }
        return nil
    }

    static func isCommitID(_ text: String) -> Bool {
        (text.count == 40 || text.count == 64) && text.allSatisfy(\.isHexDigit)
    }

    /// The pins of Package.resolved (format versions 2 and 3), sorted by name.
    static func dependencies(resolvedFile: URL) -> [(name: String, version: String, revision: String)] {
        guard let data = try? Data(contentsOf: resolvedFile),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let pins = object["pins"] as? [[String: Any]] else { return [] }
        return pins.compactMap { pin -> (name: String, version: String, revision: String)? in
            guard let identity = pin["identity"] as? String, let state = pin["state"] as? [String: Any] else { return nil }
            let version = (state["version"] as? String) ?? (state["branch"] as? String) ?? "unversioned"
            return (identity, version, (state["revision"] as? String) ?? "")
        }.sorted { $0.name < $1.name }
    }

    /// A Swift string literal: escapes backslashes, quotes and control characters.
    static func literal(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: result += "\\u{\(String(scalar.value, radix: 16))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
