internal import CLoomBench
internal import CLuaShim
import LoomCore
package import LuaKit

/// Measurements of the bridge against the raw C API, in one process. `loom bench lua` prints them.
///
/// Each figure is the best of several rounds (the least disturbed by the machine); the rounds of a
/// figure and of its baseline alternate, so both see the same machine state.
public struct LuaBenchmark: Sendable {
    public struct Comparison: Sendable, Codable {
        /// Nanoseconds per operation through LuaKit.
        public var loom: Double
        /// Nanoseconds per operation through the raw C API.
        public var c: Double
        /// loom / c.
        public var ratio: Double { c > 0 ? loom / c : 0 }
    }

    public struct Results: Sendable, Codable {
        /// Swift calls a Lua function `f(i, 2)` and reads the integer result.
        public var swiftToLua: Comparison
        /// The same through the untyped `call(arguments:)` path, which copies into LuaValues.
        public var swiftToLuaUntyped: Comparison
        /// A Lua loop calls `add(i, 2)`, a Swift host function against a C function.
        public var luaToSwift: Comparison
        /// A tight Lua loop with the deadline armed (LuaKit) against a bare lua_pcall.
        public var budget: Comparison
        /// The same loop with an instruction budget (count hook on), for comparison.
        public var instructionBudget: Comparison
        /// Microseconds to create a state with its sandbox, and one environment.
        public var stateCreateMicroseconds: Double
        /// Bytes the VM holds after creation.
        public var stateBytes: Int
        /// Bytes one more sandbox environment costs.
        public var environmentBytes: Int
        public var iterations: Int

        public var budgetOverheadPercent: Double { (budget.ratio - 1) * 100 }
        public var instructionBudgetOverheadPercent: Double { (instructionBudget.ratio - 1) * 100 }
    }

    public var iterations: Int
    public var rounds: Int

    public init(iterations: Int = 1_000_000, rounds: Int = 7) {
        self.iterations = iterations
        self.rounds = rounds
    }


    /// Runs `a` and `b` alternately `rounds` times; returns the best time of each in ns per op.
    private func compare(_ ops: Int, _ a: () throws -> Void, _ b: () throws -> Void) rethrows -> Comparison {
        let clock = ContinuousClock()
        var bestA = Double.infinity, bestB = Double.infinity
        try a()
        try b()
        for _ in 0..<rounds {
            let ta = try clock.measure(a)
            let tb = try clock.measure(b)
            bestA = min(bestA, ta.inSeconds)
            bestB = min(bestB, tb.inSeconds)
        }
        return Comparison(loom: bestA * 1e9 / Double(ops), c: bestB * 1e9 / Double(ops))
    }

    public func run() throws -> Results {
        let n = iterations
        let lua = try LuaState(limits: LuaLimits(timeout: .seconds(60), memory: 256 << 20))
        let L = try lua.core.open()

        // Swift -> Lua
        let fn = try lua.load("return function(x, y) return x + y end", name: "bench").callRef()
        var sink: Int64 = 0
        let swiftToLua = try compare(n, {
            for i in 0..<n { sink &+= try fn.call(Int64(i), Int64(2), as: Int64.self) }
        }, {
            sink &+= loom_bench_c_calls(L, fn.ref, lua_Integer(n))
        })
        let untypedN = max(1, n / 4)
        let swiftToLuaUntyped = try compare(untypedN, {
            for i in 0..<untypedN { sink &+= try fn.call(.integer(Int64(i)), .integer(2))[0].integer ?? 0 }
        }, {
            sink &+= loom_bench_c_calls(L, fn.ref, lua_Integer(untypedN))
        })

        // Lua -> Swift
        let env = try lua.newEnvironment()
        try lua.register("add", in: env) { call in
            try call.results(try call.integer(1) &+ call.integer(2))
        }
        lua_pushcclosure(L, loom_bench_c_add, 0)
        try env.set("cadd", try lua.core.popRef())
        let loopSource = """
            local f, n = ...
            local s = 0
            for i = 1, n do s = s + f(i, 2) end
            return s
            """
        let loop = try lua.load(loopSource, name: "bench-loop", environment: .table(env))
        let swiftAdd = try env.ref("add")
        let cAdd = try env.ref("cadd")
        let luaToSwift = try compare(n, {
            sink &+= try loop.call(swiftAdd, Int64(n), as: Int64.self)
        }, {
            sink &+= try loop.call(cAdd, Int64(n), as: Int64.self)
        })

        // Budget overhead on a tight loop.
        let loopN = n * 20
        let tight = try lua.load("""
            local s = 0
            for i = 1, \(loopN) do s = s + i % 7 end
            return s
            """, name: "tight")
        let budget = try compare(loopN, {
            try tight.call()
        }, {
            tight.push(L)
            if loom_bench_raw_pcall(L) != LUA_OK { loom_pop(L, 1) }
        })
        var counted = lua.limits
        counted.instructions = Int.max / 2
        lua.limits = counted
        let instructionBudget = try compare(loopN, {
            try tight.call()
        }, {
            tight.push(L)
            if loom_bench_raw_pcall(L) != LUA_OK { loom_pop(L, 1) }
        })
        withExtendedLifetime(sink) {}

        // State creation.
        let clock = ContinuousClock()
        var best = Double.infinity
        var bytes = 0, envBytes = 0
        for _ in 0..<200 {
            var state: LuaState?
            let t = try clock.measure {
                state = try LuaState()
                _ = try state?.newEnvironment()
            }
            best = min(best, t.inSeconds)
            if let state {
                bytes = state.memoryUsed
                let before = state.memoryUsed
                var envs: [LuaRef] = []
                for _ in 0..<100 { envs.append(try state.newEnvironment()) }
                envBytes = (state.memoryUsed - before) / 100
                envs.removeAll()
            }
        }
        return Results(swiftToLua: swiftToLua, swiftToLuaUntyped: swiftToLuaUntyped, luaToSwift: luaToSwift,
                       budget: budget, instructionBudget: instructionBudget,
                       stateCreateMicroseconds: best * 1e6, stateBytes: bytes, environmentBytes: envBytes,
                       iterations: n)
    }
}

extension LuaState {
    /// The raw-C baseline of `loom bench runtime`: resumes `handlers[i % agents + 1]` with a fresh
    /// `{a = 1, b = 2, c = 3}` in one reused coroutine, `messages` times, all in C under one entry.
    /// With `copying`, the table is built once and every message is a copy of it made as `send`
    /// copies one: the baseline plus what isolation costs. Returns the number of failed resumes, or
    /// -1 when the run itself failed.
    package func benchmarkResumeBaseline(handlers: LuaRef, agents: Int, messages: Int, copying: Bool = false) throws(LuaError) -> Int {
        let L = try core.open()
        return Int(loom_bench_c_messages(L, handlers.ref, lua_Integer(agents), lua_Integer(messages), copying ? 1 : 0))
    }
}
