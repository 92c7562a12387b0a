/// Where to send a task's steps: a webhook URL with the token the receiver checks and, if
/// given, credentials for its `Authorization` header. The JSON shape is A2A 1.0's
/// TaskPushNotificationConfig, which is also how configs are stored.
public struct PushNotificationConfig: Codable, Sendable, Equatable {
    public var tenant: String?
    public var id: String?
    public var taskId: String?
    public var url: String
    public var token: String?
    public var authentication: PushNotificationAuthentication?

    public init(tenant: String? = nil, id: String? = nil, taskId: String? = nil, url: String, token: String? = nil,
                authentication: PushNotificationAuthentication? = nil) {
        self.tenant = tenant
        self.id = id
        self.taskId = taskId
        self.url = url
        self.token = token
        self.authentication = authentication
    }
}

/// The `Authorization` a webhook expects: `<scheme> <credentials>`.
public struct PushNotificationAuthentication: Codable, Sendable, Equatable {
    public var scheme: String
    public var credentials: String?

    public init(scheme: String, credentials: String? = nil) {
        self.scheme = scheme
        self.credentials = credentials
    }
}
