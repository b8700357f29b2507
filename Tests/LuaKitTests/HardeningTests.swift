import LuaKit
import Testing

/// The sandbox's answers to hostile scripts keep Lua's semantics for honest ones: xpcall's handler,
/// string.rep, load from pieces, math.random per environment, and copies out of Lua with a bound.
@Suite("Hardening")
struct HardeningTests {
    static func state(timeout: Duration = .milliseconds(200), memory: Int = 32 << 20) throws -> LuaState {
        try LuaState(limits: LuaLimits(timeout: timeout, memory: memory))
    }

    @Test("xpcall still calls its handler with the error, passes results and arguments, and can yield")
    func xpcallSemantics() throws {
        let lua = try Self.state()
        #expect(try lua.run("return xpcall(error, function(e) return 'handled ' .. e end, 'boom')")
                == [false, "handled boom"])
        #expect(try lua.run("return xpcall(function(a, b) return a + b, 'x' end, print, 40, 2)") == [true, 42, "x"])
        #expect(try lua.run("""
            local co = coroutine.wrap(function()
              return xpcall(function() local v = coroutine.yield(1) return v * 2 end, print)
            end)
            local first = co()
            local ok, v = co(21)
            return first, ok, v
            """) == [1, true, 42])
        // A handler that fails is called again for its own error, until Lua gives up, as in Lua.
        let result = try lua.run("return xpcall(error, function() error('again') end)")
        #expect(result.first == false)
        #expect(throws: LuaError.self) { try lua.run("return xpcall(print)") }
    }

    @Test("a looping xpcall handler is stopped by the deadline, and the state goes on")
    func xpcallDeadline() throws {
        let lua = try Self.state()
        for source in ["xpcall(function() while true do end end, function() while true do end end)",
                       "xpcall(error, function() while true do end end)"] {
            let clock = ContinuousClock()
            let start = clock.now
            let error = #expect(throws: LuaError.self) { try lua.run(source) }
            #expect(error?.kind == .timeout)
            #expect(clock.now - start < .seconds(2))
            #expect(try lua.run("return 1 + 1") == [2])
        }
    }

    @Test("string.rep keeps Lua's results")
    func rep() throws {
        let lua = try Self.state()
        #expect(try lua.run("return ('ab'):rep(3), ('ab'):rep(3, ','), (''):rep(3, ','), ('x'):rep(0), ('x'):rep(-1)")
                == ["ababab", "ab,ab,ab", ",,", "", ""])
        #expect(try lua.run("return #string.rep('', math.maxinteger), #string.rep('', 1, 'sep')") == [0, 0])
    }

    @Test("load compiles sources of any size from pieces, and reader functions as in Lua")
    func loadPieces() throws {
        let lua = try Self.state(timeout: .seconds(5))
        // A long string constant and a long comment cross many 256-byte pieces.
        #expect(try lua.run("""
            local s = string.rep('a', 10000)
            local f = load('--[[' .. string.rep('c', 999) .. ']] return "' .. s .. '", 7')
            local v, n = f()
            return #v, n
            """) == [10000, 7])
        #expect(try lua.run("""
            local parts, i = {'return ', '1 +', ' 4', '1'}, 0
            return load(function() i = i + 1 return parts[i] end)()
            """) == [42])
        // An empty piece ends the chunk, as in Lua.
        #expect(try lua.run("""
            local parts, i = {'return 1', '', '+ 1'}, 0
            return load(function() i = i + 1 return parts[i] end)()
            """) == [1])
        let error = #expect(throws: LuaError.self) {
            try lua.load(String(repeating: "x = 1\n", count: 2000) + "x = = 2", name: "big.lua")
        }
        #expect(error?.kind == .syntax)
        #expect(error?.line == 2001)
    }

    @Test("compiling a quadratic chunk stops at the deadline with a timeout", arguments: ["or", "and"])
    func compileDeadline(op: String) throws {
        let lua = try Self.state()
        let source = "return " + String(repeating: "x \(op) ", count: 300_000) + "1"
        let clock = ContinuousClock()
        let start = clock.now
        let error = #expect(throws: LuaError.self) { try lua.load(source, name: "chain.lua") }
        #expect(error?.kind == .timeout)
        #expect(error?.message.contains("while compiling") == true)
        #expect(clock.now - start < .seconds(2))
        #expect(try lua.run("return 'still here'") == ["still here"])
    }

    @Test("each environment has its own random generator; a seed gives stock Lua's numbers")
    func randomPerEnvironment() throws {
        let lua = try Self.state()
        // Stock Lua's generator, from the host's own (unsandboxed) math library.
        let stock = try lua.run("math.randomseed(42) local t = {} for i = 1, 8 do t[i] = math.random(1, 1000000) end return t",
                                environment: .globals)
        let a = try lua.newEnvironment()
        let b = try lua.newEnvironment()
        let draw = "local t = {} for i = 1, 8 do t[i] = math.random(1, 1000000) end return t"
        #expect(try lua.load("math.randomseed(42) " + draw, name: "a.lua", environment: .table(a)).call() == stock)
        // Seeding in a does not set b's numbers, before or after b's first draw.
        _ = try lua.load("math.randomseed(42)", name: "a.lua", environment: .table(a)).call()
        let fromB = try lua.load(draw, name: "b.lua", environment: .table(b)).call()
        #expect(fromB != stock)
        _ = try lua.load("math.randomseed(42)", name: "a.lua", environment: .table(a)).call()
        #expect(try lua.load(draw, name: "b.lua", environment: .table(b)).call() != stock)
        // Draws in a do not advance b: b seeded twice gives the same numbers, whatever a does.
        let seeded = "math.randomseed(7) " + draw
        let first = try lua.load(seeded, name: "b.lua", environment: .table(b)).call()
        _ = try lua.load("for i = 1, 100 do math.random() end", name: "a.lua", environment: .table(a)).call()
        #expect(try lua.load(seeded, name: "b.lua", environment: .table(b)).call() == first)
        // Floats, full integers and ranges behave as in Lua.
        #expect(try lua.run("""
            for i = 1, 1000 do
              local f = math.random()
              assert(f >= 0 and f < 1)
              local n = math.random(3)
              assert(n >= 1 and n <= 3)
              assert(math.type(math.random(0)) == 'integer')
              assert(math.random(math.mininteger, math.maxinteger))
            end
            local ok, err = pcall(math.random, 2, 1)
            return select('#', math.randomseed()), ok, err:match('interval is empty')
            """) == [2, false, "interval is empty"])
    }

    @Test("copying a DAG of shared tables out of Lua ends with a conversion error, fast")
    func dagCopy() throws {
        let lua = try Self.state()
        let clock = ContinuousClock()
        let start = clock.now
        let error = #expect(throws: LuaError.self) {
            try lua.run("local t = {} for i = 1, 60 do t = {t, t} end return t")
        }
        #expect(error?.kind == .conversion)
        #expect(error?.message.contains("too large to copy") == true)
        #expect(clock.now - start < .seconds(10))
        // A shared table reached a few times still copies (once per reference).
        let shared = try lua.run("local s = {1, 2} return {a = s, b = s}")
        #expect(shared.first?.table?["a"] == shared.first?.table?["b"])
    }
}

/// The state codec's order of table keys: exact for integers past 2^53 (found by the fuzzer:
/// through Double, two such keys compared equal and the bytes followed the dictionary's order).
@Suite("Key order")
struct KeyOrderTests {
    @Test("integer keys past 2^53 encode in one order, whatever order they were set in")
    func bigIntegerKeys() throws {
        let keys: [Int64] = [1, 2, 0x3f00_0000_0000_0003, 0x3f00_0000_0000_0005, 0x3f00_0000_0000_0004, -0x3f00_0000_0000_0001]
        var encodings: Set<[UInt8]> = []
        for permutation in [keys, keys.reversed(), keys.shuffled(), keys.shuffled()] {
            var t = LuaTable()
            for k in permutation { t[.integer(k)] = .integer(k) }
            var out: [UInt8] = []
            try LuaValueCodec.encode(.table(t), into: &out)
            encodings.insert(out)
            // The sequence first, then the other keys by value.
            let order = t.entries.map { $0.key.integer ?? 0 }
            #expect(order == [1, 2] + keys.dropFirst(2).sorted())
        }
        #expect(encodings.count == 1)
    }

    @Test("integers and floats order by value, exactly")
    func mixedNumbers() throws {
        var t = LuaTable()
        // (A float that is a whole number becomes an integer key, as in Lua: past 2^53 every float
        // is one, so floats past Int64's range are the ones left to compare with large integers.)
        let values: [LuaValue] = [.integer(0x4000_0000_0000_0800), .integer(0x4000_0000_0000_0001), .number(-0.5), .integer(-1),
                                  .number(1.5), .integer(0x7fff_ffff_ffff_ffff), .number(0x1p63), .number(-0x1p63 - 4096)]
        for v in values { t[v] = .boolean(true) }
        let order: [LuaValue] = t.entries.map(\.key)
        let expected: [LuaValue] = [
            .number(-0x1p63 - 4096), .integer(-1), .number(-0.5), .number(1.5), .integer(0x4000_0000_0000_0001),
            .integer(0x4000_0000_0000_0800), .integer(0x7fff_ffff_ffff_ffff), .number(0x1p63),
        ]
        #expect(order == expected)
    }
}
