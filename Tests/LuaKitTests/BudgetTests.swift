import LuaKit
import Testing

/// Deadlines, instruction budgets, the memory cap and the C stack: a script that breaks a budget
/// fails alone, with the right kind, and the state goes on working.
@Suite("Budgets")
struct BudgetTests {
    static let deadline = Duration.milliseconds(200)

    static func state(timeout: Duration = deadline, memory: Int = 32 << 20) throws -> LuaState {
        try LuaState(limits: LuaLimits(timeout: timeout, memory: memory))
    }

    /// Runs source, expects an error of `kind`, and checks the state still answers.
    @discardableResult
    static func expectFailure(_ source: String, kind: LuaError.Kind, within limit: Duration? = nil,
                              in lua: LuaState? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> LuaError? {
        let lua = try lua ?? state()
        let clock = ContinuousClock()
        let start = clock.now
        var caught: LuaError?
        do {
            try lua.run(source, name: "budget.lua")
        } catch {
            caught = error
        }
        let elapsed = clock.now - start
        #expect(caught != nil, "expected a \(kind) error", sourceLocation: sourceLocation)
        #expect(caught?.kind == kind, "got \(String(describing: caught))", sourceLocation: sourceLocation)
        if let limit {
            #expect(elapsed < limit, "took \(elapsed)", sourceLocation: sourceLocation)
        }
        #expect(try lua.run("return 40 + 2") == [42], "the state must go on working", sourceLocation: sourceLocation)
        return caught
    }

    static let stopWithin = deadline + .milliseconds(400)

    @Test("an endless loop is stopped by the deadline", arguments: [
        "while true do end",
        "while true do pcall(function() while true do end end) end",
        "while true do xpcall(function() while true do end end, function(e) return e end) end",
        "coroutine.wrap(function() while true do pcall(function() while true do end end) end end)()",
        "local co = coroutine.create(function() while true do end end) while true do pcall(coroutine.resume, co) end",
        "while true do pcall(coroutine.wrap(function() while true do end end)) end",
        "table.sort({3, 2, 1, 5, 4}, function(a, b) while true do pcall(error) end end)",
        "string.gsub('abc', '.', function() while true do pcall(error) end end)",
        "local t = setmetatable({}, {__index = function() while true do end end}) return t.x",
        "local t = setmetatable({}, {__add = function() while true do pcall(error) end end}) return t + 1",
        "local t = setmetatable({}, {__close = function() while true do end end}) do local x <close> = t end",
        "local f = load('while true do end') f()",
        "return table.move({}, 1, 2^40, 2)",
        "local t = setmetatable({}, {__len = function() return 2^40 end}) table.insert(t, 1, 'x')",
    ])
    func deadlineStops(source: String) throws {
        try Self.expectFailure(source, kind: .timeout, within: Self.stopWithin)
    }

    @Test("a pathological pattern in C stops within the deadline plus 100 ms")
    func patternStops() throws {
        let lua = try Self.state()
        let error = try Self.expectFailure("return string.find(('a'):rep(1e5), '.-.-.-.-.-b$')", kind: .timeout,
                                           within: Self.deadline + .milliseconds(100), in: lua)
        #expect(error?.message.contains("deadline") == true)
        for source in [
            "return ('a'):rep(3e4):match('(.-)(.-)(.-)(.-)b$')",
            "for k in ('a'):rep(1e5):gmatch('.-.-.-.-b') do end",
            "return (('a'):rep(1e5)):gsub('.-.-.-.-b', 'x')",
        ] {
            try Self.expectFailure(source, kind: .timeout, within: Self.deadline + .milliseconds(100), in: lua)
        }
    }

    @Test("the stop reaches a pcall loop without swallowing: the message names the deadline")
    func stickyStop() throws {
        let error = try Self.expectFailure("""
            local caught = 0
            while true do
              local ok = pcall(function() while true do end end)
              if not ok then caught = caught + 1 end
            end
            """, kind: .timeout, within: Self.stopWithin)
        #expect(error?.message.contains("deadline of 200 ms exceeded") == true)
        #expect(error?.chunk == "budget.lua")
        #expect(error?.line != nil)
    }

    @Test("an instruction budget stops a loop with kind budget")
    func instructionBudget() throws {
        let lua = try LuaState(limits: LuaLimits(timeout: .seconds(10), instructions: 100_000))
        let error = try Self.expectFailure("while true do pcall(function() end) end", kind: .budget, in: lua)
        #expect(error?.message.contains("instruction budget") == true)
        // Within the budget, work completes.
        #expect(try lua.run("local s = 0 for i = 1, 1000 do s = s + i end return s") == [500500])
    }

    @Test("memory bombs hit the cap and the host lives", arguments: [
        "return ('x'):rep(2^31 - 1)",
        "local t = {} for i = 1, 1e9 do t[i] = i end",
        "local t = {} for i = 1, 1e3 do t[i] = string.rep('abcd', 1e7) end",
        "local s = 'x' while true do s = s .. s end",
        "local t = {} while true do t[#t + 1] = {} end",
    ])
    func memoryCap(source: String) throws {
        let lua = try Self.state(timeout: .seconds(10))
        try Self.expectFailure(source, kind: .memory, in: lua)
        #expect(lua.memoryUsed < 32 << 20)
    }

    @Test("a string past Lua's size limit is a clean error")
    func hugeRep() throws {
        let error = try Self.expectFailure("return ('x'):rep(2^31)", kind: .runtime)
        #expect(error?.message.contains("too large") == true)
    }

    @Test("a memory error caught by pcall in the script is the script's business")
    func memoryErrorCaughtInLua() throws {
        let lua = try Self.state()
        let r = try lua.run("local ok, err = pcall(string.rep, 'x', 1e9) return ok, err")
        #expect(r == [false, "not enough memory"])
    }

    @Test("deep recursion is an error, never a crash")
    func deepRecursion() throws {
        let lua = try Self.state(timeout: .seconds(5), memory: 256 << 20)
        let error = try Self.expectFailure("f = function() return 1 + f() end return f()", kind: .runtime, in: lua)
        #expect(error?.message.contains("stack overflow") == true)
    }

    @Test("C stack overflow through coroutine recursion is an error, never a crash")
    func coroutineRecursion() throws {
        let lua = try Self.state(timeout: .seconds(5))
        let error = try Self.expectFailure("f = function() coroutine.wrap(f)() end f()", kind: .runtime, in: lua)
        #expect(error?.message.contains("C stack overflow") == true)
        try Self.expectFailure("f = function() local co = coroutine.create(f) assert(coroutine.resume(co)) end f()",
                               kind: .runtime, in: lua)
        try Self.expectFailure("local s = ('('):rep(1000) .. ('1') .. (')'):rep(1000) return load('return ' .. s)()",
                               kind: .runtime, in: lua)
    }

    @Test("table.unpack with a huge range is a clean error")
    func hugeUnpack() throws {
        let error = try Self.expectFailure("return table.unpack({}, -2^31, 2^31)", kind: .runtime)
        #expect(error?.message.contains("too many results") == true)
    }

    @Test("an __gc that loops does not hang the close")
    func loopingFinalizer() throws {
        let lua = try LuaState(limits: LuaLimits(timeout: .milliseconds(200)))
        // Only host code can set __gc (the sandbox refuses it): use the unsandboxed globals. The
        // collector is stopped so that the finalizers run at the close, not during this run (where
        // they would break this run's deadline).
        try lua.run("""
            collectgarbage("stop")
            for i = 1, 3 do setmetatable({}, {__gc = function() while true do end end}) end
            """, environment: .globals)
        let clock = ContinuousClock()
        let start = clock.now
        try lua.close()
        #expect(clock.now - start < .seconds(2))
        #expect(lua.isClosed)
    }

    @Test("error objects whose __tostring loops or throws are converted safely")
    func hostileErrorObjects() throws {
        let lua = try Self.state()
        for source in [
            "error(setmetatable({}, {__tostring = function() while true do end end}))",
            "error(setmetatable({}, {__tostring = function() error('again') end}))",
            "error(setmetatable({}, {__tostring = function() return {} end}))",
            "error(setmetatable({}, {__name = 'Thing', __index = function() error('no') end}))",
        ] {
            var caught: LuaError?
            do { try lua.run(source) } catch { caught = error }
            #expect(caught != nil)
            let text = caught.map { String(describing: $0) } ?? ""
            #expect(!text.isEmpty)
        }
        let r = try? lua.run("error(setmetatable({}, {__tostring = function() return 'custom message' end}))")
        #expect(r == nil)
        do {
            try lua.run("error(setmetatable({}, {__tostring = function() return 'custom message' end}))")
        } catch {
            #expect(error.message == "custom message")
        }
        #expect(try lua.run("return 1") == [1])
    }

    @Test("a returned table whose __index throws is copied raw")
    func hostileReturnedTable() throws {
        let lua = try Self.state()
        let r = try lua.run("""
            return setmetatable({a = 1, 2}, {__index = function() error('boom') end,
                                            __pairs = function() error('boom') end,
                                            __len = function() error('boom') end})
            """)
        #expect(r == [.table(LuaTable(["a": 1, 1: 2]))])
    }

    @Test("limits can change between entries; nested entries share the outer deadline")
    func limitsChange() throws {
        let lua = try Self.state()
        var limits = lua.limits
        limits.timeout = .seconds(5)
        lua.limits = limits
        #expect(try lua.run("local n = 0 for i = 1, 1e6 do n = n + 1 end return n") == [1_000_000])
        limits.timeout = .milliseconds(100)
        lua.limits = limits
        let env = try lua.newEnvironment()
        let spin = try lua.load("while true do end", name: "spin.lua")
        try lua.register("host_spin", in: env) { call in
            try spin.call()
            return call.results()
        }
        let clock = ContinuousClock()
        let start = clock.now
        #expect(throws: LuaError.self) {
            try lua.load("host_spin()", name: "outer.lua", environment: .table(env)).call()
        }
        #expect(clock.now - start < .milliseconds(600))
    }
}
