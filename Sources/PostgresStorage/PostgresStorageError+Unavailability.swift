import Storage

/// A database that cannot be reached, or a connection lost mid-request, is the storage being
/// away, not the request's fault: callers answer "retry later" (JSON-RPC -32050, HTTP 503 with
/// Retry-After) and running tasks pause at their last recorded step until it is back.
extension PostgresStorageError: StorageUnavailabilityReporting {
    public var storageUnavailable: StorageUnavailableError? {
        isRetryable ? StorageUnavailableError(reason: .unreachable, detail: message) : nil
    }
}
