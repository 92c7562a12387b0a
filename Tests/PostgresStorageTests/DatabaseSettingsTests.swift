import Foundation
import PostgresStorage
import Testing

/// The database URL and password: parsed strictly, the password never from the URL and never shown.
@Suite struct DatabaseSettingsTests {
    @Test func aFullURLIsRead() throws {
        let settings = try DatabaseSettings(url: "postgres://ares@db.example:6432/research?sslmode=require", environment: [:])
        #expect(settings.user == "ares")
        #expect(settings.host == "db.example")
        #expect(settings.port == 6432)
        #expect(settings.database == "research")
        #expect(settings.tlsMode == .require)
        #expect(settings.passwordSource == .none)
        let defaults = try DatabaseSettings(url: "postgresql://u@h/d", environment: [:])
        #expect(defaults.port == 5432)
        #expect(defaults.tlsMode == .verifyFull, "without sslmode the connection is verified, never silently plain")
        let verified = try DatabaseSettings(url: "postgres://u@h/d?sslmode=verify-full&sslrootcert=/etc/ca.pem", environment: [:])
        #expect(verified.certificateAuthorityFile == "/etc/ca.pem")
    }

    @Test func invalidURLsAreRefusedWithOneLineNamingTheProblem() {
        let cases: [(String, String)] = [
            ("mysql://u@h/d", "must start with postgres://"),
            ("postgres://h/d", "names no user"),
            ("postgres://u@/d", "names no host"),
            ("postgres://u@h", "names no database"),
            ("postgres://u@h/", "names no database"),
            ("postgres://u@h/a/b", "must not contain '/'"),
            ("postgres://u@h:0/d", "1 to 65535"),
            ("postgres://u@h:70000/d", "1 to 65535"),
            ("postgres://u@h/d?sslmode=prefer", "sslmode must be one of disable, require, verify-full (got 'prefer')"),
            ("postgres://u@h/d?sslmode=disable&sslmode=require", "sets 'sslmode' twice"),
            ("postgres://u@h/d?pool=3", "unknown parameter 'pool'"),
            ("postgres://u@h/d?sslmode=require&sslrootcert=/ca.pem", "only used with sslmode=verify-full"),
            ("postgres://u@h/" + String(repeating: "d", count: 64), "at most 63 bytes"),
            ("not a url at all", "expected postgres://"),
        ]
        for (url, expected) in cases {
            #expect { try DatabaseSettings(url: url, environment: [:]) } throws: { error in
                let message = "\(error)"
                return message.contains(expected) && !message.contains("\n")
            }
        }
    }

    @Test func aPasswordInTheURLIsRefusedWithoutRepeatingIt() {
        let password = "pw-\(UUID().uuidString)"
        #expect { try DatabaseSettings(url: "postgres://ares:\(password)@h:5432/d", environment: [:]) } throws: { error in
            let message = "\(error)"
            return message.contains("carries a password") && message.contains(DatabaseSettings.passwordFileVariable) && !message.contains(password)
        }
    }

    @Test func thePasswordComesFromAFileOrTheEnvironmentAndIsNeverShown() throws {
        let password = "pw-\(UUID().uuidString)"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ares-pw-\(UUID().uuidString)")
        try Data((password + "\n").utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        let fromFile = try DatabaseSettings(url: "postgres://u@h/d?sslmode=disable", environment: [DatabaseSettings.passwordFileVariable: file.path])
        #expect(fromFile.passwordSource == .file(file.path))
        let fromEnvironment = try DatabaseSettings(url: "postgres://u@h/d?sslmode=disable", environment: [DatabaseSettings.passwordVariable: password])
        #expect(fromEnvironment.passwordSource == .environment)
        #expect(fromFile == fromEnvironment.with(passwordSource: fromFile.passwordSource), "the file's trailing newline is not part of the password")
        for settings in [fromFile, fromEnvironment] {
            var dumped = ""
            dump(settings, to: &dumped)
            for shown in ["\(settings)", String(reflecting: settings), dumped] {
                #expect(!shown.contains(password))
            }
            #expect("\(settings)" == "postgres://u@h:5432/d?sslmode=disable (password: \(settings.passwordSource))")
        }
    }

    @Test func passwordSourcesThatCannotBeUsedAreRefused() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("ares-pw-\(UUID().uuidString)")
        try Data("\n".utf8).write(to: empty)
        defer { try? FileManager.default.removeItem(at: empty) }
        let url = "postgres://u@h/d?sslmode=disable"
        #expect { try DatabaseSettings(url: url, environment: [DatabaseSettings.passwordFileVariable: "/nonexistent/pw"]) } throws: {
            "\($0)".contains("cannot read the database password file /nonexistent/pw")
        }
        #expect { try DatabaseSettings(url: url, environment: [DatabaseSettings.passwordFileVariable: empty.path]) } throws: { "\($0)".contains("is empty") }
        #expect {
            try DatabaseSettings(url: url, environment: [DatabaseSettings.passwordFileVariable: empty.path, DatabaseSettings.passwordVariable: "x"])
        } throws: { "\($0)".contains("set only one") }
    }
}

extension DatabaseSettings {
    func with(passwordSource: PasswordSource) -> DatabaseSettings {
        var copy = self
        copy.passwordSource = passwordSource
        return copy
    }
}
