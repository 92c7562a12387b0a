import Prometheus

/// The standard process series (the names every Prometheus client library's process collector
/// uses), so the dashboard's memory and CPU panels and any existing alert on
/// `process_resident_memory_bytes` work for ares as for any other service.
extension ServerMetrics {
    func recordProcessStatistics(_ statistics: ProcessStatistics) {
        if let cpu = statistics.cpuSeconds, cpu.isFinite {
            // A counter only grows: add what was used since the previous scrape. Two scrapes at
            // once both read /proc; the lock makes one of them add the difference, the other 0.
            let increase = reportedCPUSeconds.withLock { reported -> Double in
                guard cpu > reported else { return 0 }
                defer { reported = cpu }
                return cpu - reported
            }
            if increase > 0 {
                registry.makeCounter(descriptor: Self.descriptor("process_cpu_seconds_total", "Total user and system CPU time spent in seconds."))
                    .increment(by: increase)
            }
        }
        gauge("process_resident_memory_bytes", "Resident memory size in bytes.", statistics.residentBytes)
        gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", statistics.virtualBytes)
        gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", statistics.startTimeSeconds)
        gauge("process_open_fds", "Number of open file descriptors.", statistics.openDescriptors)
        gauge("process_max_fds", "Maximum number of open file descriptors.", statistics.maximumDescriptors)
    }

    private func gauge(_ name: String, _ help: String, _ value: Double?) {
        guard let value, value.isFinite else { return }
        registry.makeGauge(descriptor: Self.descriptor(name, help)).set(to: value)
    }

    /// The whole name in one component: these are the conventional names, not composed from
    /// a namespace and a unit (empty components are left out of the name).
    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
