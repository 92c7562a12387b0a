extension Duration {
    /// The duration in seconds, for metrics, logs and averages.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
