import Prometheus
import Storage

/// Storage series for the alert rules: whether the store takes writes (a full or read-only
/// disk makes every write answer 503 while reads go on, so nothing else shows it clearly) and
/// the bytes left on the data directory's filesystem (to alert before it is full, not after).
extension ServerMetrics {
    private static var storageWritable: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", subsystem: "storage", metricName: "writable", unitName: "",
                             helpText: "1 while the event store takes writes, 0 after a write failed for a full, read-only or failing disk (until a write commits again)")
    }

    private static var storageAvailable: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", subsystem: "storage", metricName: "available", unitName: "bytes",
                             helpText: "Bytes available to ares on the filesystem holding the data directory")
    }

    private static var storageSize: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ares", subsystem: "storage", metricName: "size", unitName: "bytes",
                             helpText: "Size of the filesystem holding the data directory")
    }

    /// Sets the storage gauges from the store's last write (or readiness probe) and the data
    /// directory's filesystem; a store that reports no writability (not SQLite) sets none.
    public func recordStorage(_ writability: StorageWritability?) {
        guard let writability else { return }
        registry.makeGauge(descriptor: Self.storageWritable).set(to: writability.isWritable ? 1 : 0)
        guard let directory = writability.directory, let space = StorageWritability.space(at: directory) else { return }
        registry.makeGauge(descriptor: Self.storageAvailable).set(to: Double(space.available))
        registry.makeGauge(descriptor: Self.storageSize).set(to: Double(space.total))
    }
}
