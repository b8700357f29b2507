extension Duration {
    /// The duration in seconds, as a `Double` (attosecond parts included), for printing and rates.
    ///
    /// ```swift
    /// let elapsed = ContinuousClock().measure { work() }
    /// print("\(elapsed.inSeconds) s")
    /// ```
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
