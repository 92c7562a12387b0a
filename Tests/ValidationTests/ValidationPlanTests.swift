import Foundation
import Testing
@testable import Validation

@Suite struct ValidationPlanTests {
    @Test func theBuiltInPlansAreValidAndTheSeedIsTheReviewsPlan() throws {
        try ValidationPlan.seed.validate()
        try ValidationPlan.quick.validate()
        let seed = ValidationPlan.seed
        #expect(seed.phases.filter { $0.kind == .load }.map(\.rate) == [100, 200, 500, 1000])
        #expect(seed.phases.filter { $0.kind == .load }.allSatisfy { $0.durationSeconds == 3600 })
        #expect(seed.phases.first { $0.kind == .soak }?.durationSeconds == 86400)
        #expect(Set(seed.phases.map(\.kind)) == Set(PhaseKind.allCases))
        #expect(seed.effectiveThresholds.p95Milliseconds == 2000)
        #expect(seed.effectiveThresholds.availability == 0.995)
        // Built-in plans survive the JSON round trip a plan file takes.
        let data = try JSONEncoder().encode(seed)
        #expect(try ValidationPlan.decode(data) == seed)
    }

    @Test func aPlanFileIsReadWithPhaseOverrides() throws {
        let json = """
            {"name": "mine", "mix": {"GetTask": 3, "SendMessage": 1},
             "thresholds": {"p95Milliseconds": 500},
             "phases": [{"name": "warm", "kind": "load", "rate": 10, "durationSeconds": 5, "thresholds": {"maximumErrorRate": 0.1}},
                        {"name": "fail", "kind": "failover"}]}
            """
        let plan = try ValidationPlan.decode(Data(json.utf8))
        #expect(plan.effectiveMix.weights == [.getTask: 3, .sendMessage: 1])
        let thresholds = plan.thresholds(of: plan.phases[0])
        #expect(thresholds.p95Milliseconds == 500)
        #expect(thresholds.maximumErrorRate == 0.1)
        #expect(thresholds.availability == 0.995)
    }

    @Test(arguments: [
        (#"{"name":"x","phases":[{"name":"a","kind":"load","rate":10,"durationSeconds":5,"treshold":1}]}"#, "phases[0]: unknown key 'treshold'"),
        (#"{"name":"x","phases":[{"name":"a","kind":"load","durationSeconds":5}]}"#, "phases[0].rate"),
        (#"{"name":"x","phases":[{"name":"a","kind":"load","rate":10,"durationSeconds":-1}]}"#, "phases[0].durationSeconds"),
        (#"{"name":"x","phases":[{"name":"a","kind":"warp","rate":10,"durationSeconds":5}]}"#, "kind"),
        (#"{"name":"x","mix":{"Teleport":1},"phases":[{"name":"a","kind":"load","rate":1,"durationSeconds":1}]}"#, "unknown request kind 'Teleport'"),
        (#"{"name":"x","thresholds":{"availability":1.5},"phases":[{"name":"a","kind":"load","rate":1,"durationSeconds":1}]}"#, "thresholds.availability"),
        (#"{"name":"x","phases":[{"name":"a","kind":"stress","rate":100,"durationSeconds":1,"stepFactor":1}]}"#, "phases[0].stepFactor"),
        (#"{"name":"x","phases":[{"name":"a","kind":"load","rate":1,"durationSeconds":1},{"name":"a","kind":"soak","rate":1,"durationSeconds":1}]}"#, "used twice"),
        (#"{"name":"x","phases":[]}"#, "phases: between 1 and 1000"),
        (#"[1,2]"#, "must be a JSON object"),
        (#"{"name":"x","phases":[{"name":"a","kind":"load","rate":1e308,"durationSeconds":1}]}"#, "phases[0].rate"),
    ])
    func aBadPlanIsRefusedWithWhereAndWhat(json: String, expected: String) {
        #expect(throws: PlanError.self) { try ValidationPlan.decode(Data(json.utf8)) }
        do {
            _ = try ValidationPlan.decode(Data(json.utf8))
        } catch {
            #expect("\(error)".contains(expected), "got: \(error)")
        }
    }

    @Test func theMixFollowsItsWeightsAndInterleaves() {
        let cycle = RequestMix(weights: [.getTask: 3, .sendMessage: 1]).cycle()
        #expect(cycle.count == 4)
        #expect(cycle.filter { $0 == .getTask }.count == 3)
        let orchestrator = RequestMix.orchestrator.cycle()
        #expect(orchestrator.count == 100)
        // Smooth round-robin: a kind with 5 % of the weight never comes twice in a row.
        #expect(!zip(orchestrator, orchestrator.dropFirst()).contains { $0 == .sendMessage && $1 == .sendMessage })
    }

    @Test func scaleShortensEveryDurationButNotBelowASecond() {
        let run = ValidationRun(plan: .seed, scale: 0.005, target: ValidationTarget(baseURL: URL(string: "http://127.0.0.1:1")!, credential: .none),
                                loadAuthorizations: [], environment: RunEnvironment(validatorVersion: "t", validatorCommit: nil, target: "t"))
        #expect(run.scaled(3600) == 18)
        #expect(run.scaled(86400) == 432)
        #expect(run.scaled(10) == 1)
    }
}
