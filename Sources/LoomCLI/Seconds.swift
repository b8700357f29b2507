import ArgumentParser

/// A number of seconds given on the command line, checked before it becomes a Duration: NaN,
/// infinity and values past `max` are a usage error, not an overflow in the conversion.
enum Seconds {
    /// A day: longer than any deadline or grace the commands need.
    static let max: Double = 86_400

    /// Throws a ValidationError naming `flag` unless `value` is finite and in `range`.
    static func check(_ value: Double, flag: String, in range: ClosedRange<Double>, positive: Bool = true) throws {
        guard value.isFinite, range.contains(value), !positive || value > 0 else {
            let lower = positive ? "more than \(Self.shown(range.lowerBound))" : "at least \(Self.shown(range.lowerBound))"
            throw ValidationError("\(flag) must be a number of seconds, \(lower) and at most \(Self.shown(range.upperBound)) (got \(value))")
        }
    }

    /// `value` seconds (already checked) as a Duration, to the millisecond.
    static func duration(_ value: Double) -> Duration {
        .milliseconds(Int64((value * 1000).rounded()))
    }

    static func shown(_ x: Double) -> String { x == x.rounded() ? String(Int64(x)) : String(x) }
}
