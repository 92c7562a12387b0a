/// The plans `ares validate` knows by name.
extension ValidationPlan {
    /// The technical-validation review's plan: load levels of 100, 200, 500 and 1000 RPS for an
    /// hour each, stress until failure (recovery within 5 minutes), a 24-hour soak at 200 RPS
    /// with under 1 % errors, chaos, failover of killed replicas (under 30 s) and backup/restore (RTO 15 min,
    /// RPO 5 min). `--scale 0.005` runs it in about ten minutes.
    public static let seed = ValidationPlan(
        name: "seed",
        description: "The technical-validation review's plan: load 100/200/500/1000 RPS x 1 h, stress until failure, 24 h soak at 200 RPS, chaos, failover, backup/restore.",
        mix: .orchestrator,
        thresholds: .defaults,
        phases: [
            PlanPhase(name: "load-100", kind: .load, rate: 100, durationSeconds: 3600, mustPass: true),
            PlanPhase(name: "load-200", kind: .load, rate: 200, durationSeconds: 3600, mustPass: true),
            PlanPhase(name: "load-500", kind: .load, rate: 500, durationSeconds: 3600, mustPass: true),
            PlanPhase(name: "load-1000", kind: .load, rate: 1000, durationSeconds: 3600, mustPass: true),
            PlanPhase(name: "stress", kind: .stress, description: "From 1000 RPS, x1.5 every step until a step fails; then 100 RPS until healthy again.",
                      rate: 1000, durationSeconds: 300, stepFactor: 1.5, maximumRate: 60000, recoveryRate: 100),
            PlanPhase(name: "soak-200", kind: .soak, rate: 200, durationSeconds: 86400, thresholds: PhaseThresholds(maximumErrorRate: 0.01)),
            PlanPhase(name: "chaos", kind: .chaos,
                      description: "Under 50 RPS, an hour per part: +100 ms latency and then an outage on the model endpoint, the deployment SIGKILLed at random moments and restarted, the data filesystem 80 % full; nothing acknowledged lost, all chains verify afterwards.",
                      rate: 50, durationSeconds: 3600),
            PlanPhase(name: "failover", kind: .failover,
                      description: "Under 50 RPS for an hour (submissions four times the usual share, so replicas hold work), 20 % of the replicas (at least one) SIGKILLed at random while they hold tasks: every task they held running again on another replica and failed traffic back to 0 within 30 s; every task acknowledged meanwhile completed, no step recorded twice, all chains verify. With --manage --replicas N --database: replicas on PostgreSQL; with --manage alone (embedded): the serving process SIGKILLed and an `ares serve --standby` on the same data directory taking over.",
                      rate: 50, durationSeconds: 3600,
                      mix: RequestMix(weights: [.sendMessage: 20, .getTask: 40, .listTasks: 10, .subscribeToTask: 2, .agentCard: 15, .search: 13])),
            PlanPhase(name: "backup-restore", kind: .restore,
                      description: "Continuous backup under 50 RPS for an hour, the deployment SIGKILLed at a random moment and restored to that moment into a new one: RTO 15 min, RPO 5 min.",
                      rate: 50, durationSeconds: 3600),
        ])

    /// A short plan for a first look and for CI: two load levels, a stress ramp and a short soak
    /// (about three minutes at scale 1).
    public static let quick = ValidationPlan(
        name: "quick",
        description: "Two load levels (50 and 100 RPS, 30 s each), stress from 200 RPS doubling until failure, a 60 s soak at 100 RPS.",
        mix: .orchestrator,
        thresholds: .defaults,
        phases: [
            PlanPhase(name: "load-50", kind: .load, rate: 50, durationSeconds: 30, mustPass: true),
            PlanPhase(name: "load-100", kind: .load, rate: 100, durationSeconds: 30, mustPass: true),
            PlanPhase(name: "stress", kind: .stress, rate: 200, durationSeconds: 10, stepFactor: 2, maximumRate: 3200, recoveryRate: 50),
            PlanPhase(name: "soak-100", kind: .soak, rate: 100, durationSeconds: 60, thresholds: PhaseThresholds(maximumErrorRate: 0.01)),
        ])
}
