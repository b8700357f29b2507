/// A benchmark that could not measure what it set out to: a lost message, a failed baseline, a
/// reload that never went live. The figures of such a run are not printed.
public struct BenchmarkError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}
