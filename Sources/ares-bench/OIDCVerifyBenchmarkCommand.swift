import ArgumentParser
import Foundation
import Identity
import Logging
import Security

/// `ares-bench oidc-verify`: the cost of checking one bearer token (header, cached key,
/// signature, claims, role) in a loop, without HTTP around it. bench/server/oidc.sh measures
/// the same check inside `ares serve`.
struct OIDCVerifyBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oidc-verify",
        abstract: "Time OIDC bearer token verification (the token from $ARES_BENCH_TOKEN, never a flag).")

    @Option(help: "The issuer URL (its discovery document and JWKS are fetched once).") var issuer: String
    @Option(help: "The audience the token must name.") var audience: String
    @Option(help: "The role claim.") var roleClaim = "scope"
    @Option(help: "The role map, VALUE=ROLE,...") var roleMap: String
    @Option(help: "Verifications per task.") var iterations = 20_000
    @Option(help: "Concurrent tasks.") var tasks = 2

    func run() async throws {
        guard let token = ProcessInfo.processInfo.environment["ARES_BENCH_TOKEN"], !token.isEmpty else {
            throw ValidationError("set ARES_BENCH_TOKEN to an access token of the issuer")
        }
        guard let url = URL(string: issuer) else { throw ValidationError("--issuer is not a URL") }
        let settings = try OIDCSettings(issuer: url, audience: audience, roleClaim: roleClaim, roleMap: try RoleMap(parsing: roleMap))
        let verifier = OIDCTokenVerifier(settings: settings, logger: Logger(label: "bench"))
        guard case let .authenticated(principal) = await verifier.verify(token) else {
            throw ValidationError("the token is refused: \(await verifier.verify(token))")
        }
        let iterations = max(1, iterations), tasks = max(1, tasks)
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<tasks {
                group.addTask { for _ in 0..<iterations { _ = await verifier.verify(token) } }
            }
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let total = Double(iterations * tasks)
        print(String(format: "%@ (%@): %.0f verifications/s with %d tasks, %.1f µs each per task",
                     principal.id, principal.role.rawValue, total / seconds, tasks, seconds / Double(iterations) * 1e6))
    }
}
