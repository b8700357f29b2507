/// The budgets every entry into a state runs under.
public struct LuaLimits: Sendable, Equatable {
    /// The wall-clock deadline of each entry from the host into Lua (a call, a resume). Nested
    /// entries share the outermost one's deadline. nil means no deadline. Default: one second.
    public var timeout: Duration?
    /// The VM's memory cap in bytes: an allocation past it fails with a `memory` error and the host
    /// goes on. nil means no cap. Default: 64 MiB.
    public var memory: Int?
    /// An optional instruction budget per entry. It needs a count hook for the whole entry, which
    /// makes tight loops about twice as slow, so it is off by default; the deadline costs nothing
    /// until it passes.
    public var instructions: Int?

    /// Makes limits; a nil argument turns that limit off.
    /// - Parameters:
    ///   - timeout: the wall-clock deadline of each entry.
    ///   - memory: the cap in bytes on everything the VM allocates.
    ///   - instructions: the instruction budget of each entry, counted in steps of 1,000 instructions.
    public init(timeout: Duration? = .seconds(1), memory: Int? = 64 << 20, instructions: Int? = nil) {
        self.timeout = timeout
        self.memory = memory
        self.instructions = instructions
    }

    /// The defaults: one second, 64 MiB, no instruction budget.
    public static let standard = LuaLimits()

    var timeoutNanoseconds: Int64 {
        guard let timeout else { return 0 }
        let (seconds, attoseconds) = timeout.components
        let ns = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if ns.overflow { return Int64.max / 2 }
        return max(1, ns.partialValue + attoseconds / 1_000_000_000)
    }
}
