import AsyncHTTPClient
import Foundation
import Testing
@testable import Validation

/// The security attack suite against a real `ares serve` (which must refuse every attack) and
/// against deployments broken on purpose (a fault proxy in front of ares), each of which must
/// fail exactly the checks its fault breaks.
@Suite struct SecurityProbeTests {
    private func describe(_ report: ProbeReport) -> String {
        report.failures.map { "\($0.id) [\($0.outcome.rawValue)] \($0.detail.prefix(300))" }.joined(separator: "\n")
    }

    @Test func aresRefusesEveryAttackOnEveryBinding() async throws {
        let server = try await ProbeAresServer.start()
        let target = ValidationTarget(baseURL: server.baseURL, credential: .apiKey(server.adminKey))
        let (report, probeKeys) = try await withProbeClient { client in
            let report = await SecurityProbe(target: target, client: client).run()
            // What the probe left behind: its keys, as ares lists them.
            let http = ProbeHTTP(client: client, target: target)
            let listed = try await http.rpc("/a2a", method: "ares/listKeys", credential: .target).get()
            let keys = (ProbeJSON.array(listed.object, "result", "keys") ?? []).filter {
                ProbeJSON.string($0, "name")?.hasPrefix("ares-validate-probe") == true
            }
            return (report, keys.map { (ProbeJSON.string($0, "name") ?? "", ProbeJSON.string($0, "revokedAt")) })
        }
        recordForLeakCheck(report, name: "security-ares")
        #expect(report.passed, "failures:\n\(describe(report))")
        #expect(report.count(.bypass) == 0 && report.count(.serverError) == 0 && report.count(.notRun) == 0)
        let ids = Set(report.checks.map(\.id))
        for binding in ["jsonrpc", "rest", "mcp"] {
            for family in ["missing-credential", "wrong-credential", "malformed-bearer", "expired-token", "unsigned-token", "revoked-key",
                           "wrong-role.viewer-submits", "other-principals-task", "oversized-body", "deep-nesting", "malformed-json", "invalid-utf8"] {
                #expect(ids.contains("security.\(family).\(binding)"), "no check security.\(family).\(binding)")
            }
        }
        for id in ["security.wrong-role.researcher-admin.jsonrpc", "security.wrong-jsonrpc-version.jsonrpc", "security.wrong-jsonrpc-version.mcp",
                   "security.huge-values.jsonrpc", "security.huge-values.mcp", "security.server-alive"] {
            #expect(ids.contains(id), "no check \(id)")
        }
        // The probe made four keys (two researchers, a viewer, one to revoke) and revoked them all.
        #expect(probeKeys.count == 4, "\(probeKeys)")
        #expect(probeKeys.allSatisfy { $0.1 != nil }, "keys the probe left usable: \(probeKeys.filter { $0.1 == nil }.map(\.0))")
        // No credential in what the report says.
        // No credential in what the report says: neither the operator's key (nor its secret
        // part) nor anything of the shape of an ares key (those the probe created).
        let secretPart = String(server.adminKey.dropFirst("ares_".count + 13))
        for check in report.checks {
            #expect(!check.detail.contains(server.adminKey) && !check.detail.contains(secretPart), "\(check.id) shows the operator's key")
            #expect(check.detail.firstMatch(of: /ares_[0-9a-f]{12}_/) == nil, "\(check.id) shows an ares key")
        }
        #expect(server.isRunning)
    }

    @Test func withoutAnAdminKeyTheChecksThatNeedKeysAreNotRun() async throws {
        let server = try await ProbeAresServer.start()
        let researcher = try server.createKey(role: "researcher")
        let report = try await withProbeClient { client in
            await SecurityProbe(target: ValidationTarget(baseURL: server.baseURL, credential: .apiKey(researcher)), client: client).run()
        }
        recordForLeakCheck(report, name: "security-researcher")
        #expect(!report.passed)
        let notRun = report.checks.filter { $0.outcome == .notRun }
        #expect(Set(notRun.map(\.id)).isSuperset(of: ["security.revoked-key.jsonrpc", "security.wrong-role.viewer-submits.rest",
                                                        "security.other-principals-task.mcp", "security.wrong-role.researcher-admin.jsonrpc"]))
        #expect(notRun.allSatisfy { $0.detail.contains("researcher credential") && $0.detail.contains("admin") }, "\(notRun.map(\.detail))")
        // Everything that needs no key of its own still ran, and ares refused it.
        #expect(report.failures.allSatisfy { $0.outcome == .notRun }, "failures:\n\(describe(report))")
        #expect(report.checks.contains { $0.id == "security.missing-credential.jsonrpc" && $0.passed })
    }

    @Test func aDeploymentThatAdmitsRevokedKeysIsABypassOfTheRevocationChecks() async throws {
        let server = try await ProbeAresServer.start()
        let report = try await withProbeClient { client in
            let proxy = try await ProbeFaultProxy(upstream: server.baseURL, fault: .admitsRevokedKeys(adminKey: server.adminKey), client: client)
            return try await withFaultProxy(proxy) {
                await SecurityProbe(target: ValidationTarget(baseURL: proxy.baseURL, credential: .apiKey(server.adminKey)), client: client).run()
            }
        }
        recordForLeakCheck(report, name: "security-revoked")
        let failed = Dictionary(uniqueKeysWithValues: report.failures.map { ($0.id, $0.outcome) })
        #expect(failed == ["security.revoked-key.jsonrpc": .bypass, "security.revoked-key.rest": .bypass, "security.revoked-key.mcp": .bypass],
                "failures:\n\(describe(report))")
        #expect(!report.passed)
    }

    @Test func aDeploymentThatFailsOnMalformedJSONIsAServerError() async throws {
        let server = try await ProbeAresServer.start()
        let report = try await withProbeClient { client in
            let proxy = try await ProbeFaultProxy(upstream: server.baseURL, fault: .failsOnMalformedJSON, client: client)
            return try await withFaultProxy(proxy) {
                await SecurityProbe(target: ValidationTarget(baseURL: proxy.baseURL, credential: .apiKey(server.adminKey)), client: client).run()
            }
        }
        recordForLeakCheck(report, name: "security-500")
        for binding in ["jsonrpc", "rest", "mcp"] {
            let check = report.checks.first { $0.id == "security.malformed-json.\(binding)" }
            #expect(check?.outcome == .serverError, "\(binding): \(check?.detail ?? "no check")")
            #expect(check?.detail.contains("HTTP 500") == true)
        }
        // Only what its parser cannot read breaks this deployment: malformed JSON, bodies that
        // are not UTF-8, and numbers beyond a Double (the huge ids).
        let broken = ["security.malformed-json.", "security.invalid-utf8.", "security.huge-values."]
        #expect(report.failures.allSatisfy { failure in failure.outcome == .serverError && broken.contains { failure.id.hasPrefix($0) } },
                "failures:\n\(describe(report))")
        #expect(report.count(.bypass) == 0)
    }

    @Test func anUnreachableTargetIsNotRunAndDoesNotPass() async throws {
        // A port nothing listens on: bound and closed again at once.
        let report = try await withProbeClient { client in
            await SecurityProbe(target: ValidationTarget(baseURL: URL(string: "http://127.0.0.1:9")!, credential: .none), client: client).run()
        }
        #expect(!report.passed)
        #expect(report.checks.map(\.outcome) == [.notRun])
        #expect(report.checks.first?.detail.contains("did not answer") == true)
    }
}
