import Server
import TaskService

extension AresConfiguration.Server {
    /// The task runner's server-wide limits.
    public var taskLimits: TaskRunner.Limits {
        TaskRunner.Limits(maximumRunning: maximumRunningTasks, maximumQueued: maximumQueuedTasks)
    }

    /// Per-principal limits by role; a role's unset value keeps the server-wide limit only.
    public var principalQuotas: PrincipalTaskQuotas {
        PrincipalTaskQuotas(
            researcher: PrincipalTaskQuotas.Quota(maximumQueued: researcherQuota.maximumQueued, maximumRunning: researcherQuota.maximumRunning),
            admin: PrincipalTaskQuotas.Quota(maximumQueued: adminQuota.maximumQueued, maximumRunning: adminQuota.maximumRunning))
    }

    /// The HTTP server's configuration.
    public func serverConfiguration(version: String) -> ServerConfiguration {
        ServerConfiguration(
            host: host, port: port, publicBaseURL: publicURL, developmentMode: developmentMode, maximumBodyBytes: maximumBodyBytes,
            tasks: taskLimits, logRequests: logRequests, principalQuotas: principalQuotas, version: version,
            maximumConnections: maximumConnections, requestHeadTimeout: requestHeadTimeout, requestBodyTimeout: requestBodyTimeout)
    }
}
