import Testing
@testable import Validation

@Suite struct ProbeReportTests {
    @Test func aProbeWithoutChecksDoesNotPass() {
        #expect(!ProbeReport(probe: "security", checks: []).passed)
    }

    @Test func anyBypassFailsTheProbeAndIsCounted() {
        let report = ProbeReport(probe: "security", checks: [
            ProbeCheck(id: "a", title: "a", outcome: .passed, detail: ""),
            ProbeCheck(id: "b", title: "b", outcome: .bypass, detail: "HTTP 200"),
        ])
        #expect(!report.passed)
        #expect(report.count(.bypass) == 1)
        #expect(report.failures.map(\.id) == ["b"])
    }
}
