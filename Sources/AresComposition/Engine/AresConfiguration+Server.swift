import Foundation
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

extension AresConfiguration {
    /// The HTTP server's configuration: the server settings and the per-principal rate limits.
    public func serverConfiguration(version: String) -> ServerConfiguration {
        var configuration = server.serverConfiguration(version: version)
        configuration.rateLimits = rateLimits
        configuration.authenticationSchemes = A2AAuthenticationSchemes(
            apiKeys: true,
            openIDConnectDiscoveryURL: identity.oidcIssuer.map { $0.absoluteString.trimmingSuffix("/") + "/.well-known/openid-configuration" },
            mutualTLS: tls.isEnabled && tls.clientAuthentication != .none)
        if let issuer = identity.oidcIssuer, let clientID = identity.oidcConsoleClientId {
            configuration.consoleSignIn = ConsoleSignIn(issuer: issuer, clientID: clientID)
        }
        configuration.tls = tls.serverSettings
        return configuration
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
