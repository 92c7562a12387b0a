/// Decides when an append may be written and acknowledged, for a promise the store itself
/// cannot see: continuous backup's bounded RPO (`ares serve --backup-to --backup-max-lag`)
/// holds appends back while the oldest committed write the backup does not have yet is older
/// than the limit, so that losing the machine never loses an acknowledged write older than it.
///
/// The store calls `admit` before writing (it may wait, or throw a retryable
/// `StorageUnavailableError`; nothing is written then) and `committed` after the write returned,
/// successful or not (a failed transaction may still have committed part of a batch: counting
/// it as unshipped only makes the next wait more careful).
public protocol AppendAdmission: Sendable {
    /// Returns when an append may be written now; throws (retryable) when it may not be written at all.
    func admit() async throws
    /// An append was just written: it is unshipped from now until a shipping round takes it.
    func committed()
}
