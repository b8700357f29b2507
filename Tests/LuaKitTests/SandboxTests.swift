import LuaKit
import Testing

@Suite("Sandbox")
struct SandboxTests {
    /// Every name a sandboxed chunk can reach, as dotted paths.
    static let allowlist: Set<String> = {
        var names: Set<String> = [
            "_G", "_VERSION", "assert", "collectgarbage", "error", "getmetatable", "ipairs", "load", "next",
            "pairs", "pcall", "print", "rawequal", "rawget", "rawlen", "rawset", "select", "setmetatable",
            "tonumber", "tostring", "type", "xpcall",
            "string", "table", "math", "utf8", "coroutine", "os",
        ]
        let libraries: [String: [String]] = [
            "string": ["byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "pack",
                       "packsize", "rep", "reverse", "sub", "unpack", "upper"],
            "table": ["concat", "insert", "move", "pack", "remove", "sort", "unpack"],
            "math": ["abs", "acos", "asin", "atan", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge", "log",
                     "max", "maxinteger", "min", "mininteger", "modf", "pi", "rad", "random", "randomseed", "sin",
                     "sqrt", "tan", "tointeger", "type", "ult"],
            "utf8": ["char", "charpattern", "codepoint", "codes", "len", "offset"],
            "coroutine": ["close", "create", "isyieldable", "resume", "running", "status", "wrap", "yield"],
            "os": ["clock", "date", "difftime", "time"],
        ]
        for (lib, fields) in libraries { for f in fields { names.insert("\(lib).\(f)") } }
        return names
    }()

    @Test("walking every key reachable from _ENV finds only allowlisted names")
    func allowlistWalk() throws {
        let lua = try LuaState()
        let found = try lua.run("""
            local seen, names = {}, {}
            local function walk(t, prefix)
              if seen[t] then return end
              seen[t] = true
              for k, v in pairs(t) do
                local name = prefix .. tostring(k)
                names[#names + 1] = name
                if type(v) == "table" then walk(v, name .. ".") end
                -- Strings share one metatable, walked by the next test.
                local mt = type(v) ~= "string" and getmetatable(v)
                if type(mt) == "table" then walk(mt, name .. ".<mt>.") end
              end
            end
            walk(_ENV, "")
            local smt = getmetatable("")
            names[#names + 1] = "<string metatable is " .. type(smt) .. ">"
            return names
            """, name: "walk.lua")
        let names = Set(found[0].table?.array.compactMap(\.string) ?? [])
        #expect(names.contains("string.format"))
        #expect(names.contains("<string metatable is table>"))
        let unexpected = names.subtracting(Self.allowlist).subtracting(["<string metatable is table>"])
        #expect(unexpected.isEmpty, "names outside the allowlist: \(unexpected.sorted())")
        // The allowlist is exactly what is there, nothing missing either.
        #expect(Self.allowlist.subtracting(names).isEmpty, "missing: \(Self.allowlist.subtracting(names).sorted())")
    }

    @Test("the string metatable seen from the sandbox leads only to the sandbox string library")
    func stringMetatableWalk() throws {
        let lua = try LuaState()
        let r = try lua.run("""
            local mt = getmetatable("")
            local names = {}
            for k in pairs(mt.__index) do names[#names + 1] = k end
            table.sort(names)
            return table.concat(names, " "), mt.__index.dump, ("x").dump
            """)
        #expect(r[0].string == "byte char find format gmatch gsub len lower match pack packsize rep reverse sub unpack upper")
        #expect(r[1] == .nil)
        #expect(r[2] == .nil)
    }

    @Test("package, require, io, debug, dofile and loadfile are absent")
    func absentNames() throws {
        let lua = try LuaState()
        let r = try lua.run("return package, require, io, debug, dofile, loadfile, string.dump, os.execute, os.exit, os.getenv")
        #expect(r.count == 10)
        #expect(r.allSatisfy { $0 == .nil })
    }

    @Test("load(string.dump(f)) and any chunk starting with \\27 are refused")
    func binaryChunksRefused() throws {
        let lua = try LuaState()
        let r = try lua.run("""
            local ok1, e1 = pcall(function() return load(string.dump(function() end)) end)
            local f2, e2 = load("\\27Lua\\x54\\0")
            local f3, e3 = load("\\27 anything")
            local pieces = {"\\27Lua", "rest"}
            local i = 0
            local f4, e4 = load(function() i = i + 1 return pieces[i] end)
            local f5, e5 = load("return 1", "x", "b")
            return ok1, f2, e2, f3, e3, f4, e4, f5, e5
            """)
        #expect(r[0] == false)  // string.dump does not exist
        #expect(r[1] == .nil)
        #expect(r[2].string?.contains("binary chunks are not allowed") == true)
        #expect(r[3] == .nil)
        #expect(r[5] == .nil)
        #expect(r[6].string?.contains("binary chunk") == true)
        #expect(r[7] == .nil)
        #expect(r[8].string?.contains("text chunk") == true)
        // The host API refuses binary too.
        #expect(throws: LuaError.self) { try lua.load(bytes: [27, 76, 117, 97], name: "bin") }
        do {
            _ = try lua.load(bytes: [27, 76, 117, 97], name: "bin")
        } catch {
            #expect(error.kind == .syntax)
            #expect(error.message.contains("binary chunks are not allowed"))
        }
    }

    @Test("tampering with the string metatable or a library table fails, and another chunk is unaffected")
    func tamperingFails() throws {
        let lua = try LuaState()
        let attempts = [
            "getmetatable('').__index.upper = function() return 'pwned' end",
            "getmetatable('').__index = {}",
            "string.upper = function() return 'pwned' end",
            "rawset(string, 'upper', function() return 'pwned' end)",
            "setmetatable(string, nil)",
            "table.insert = nil",
            "math.pi = 3",
            "rawset(getmetatable(''), '__index', {})",
            "coroutine.wrap = nil",
            "os.time = nil",
        ]
        for source in attempts {
            #expect(throws: LuaError.self, "should fail: \(source)") { try lua.run(source, name: "tamper.lua") }
        }
        // A chunk writing a global only changes its own environment.
        try lua.run("string = {upper = function() return 'pwned' end}; print = nil; x = 1", name: "a.lua")
        let r = try lua.run("return ('abc'):upper(), string.upper('abc'), x, type(print), math.pi", name: "b.lua")
        #expect(r[0] == "ABC")
        #expect(r[1] == "ABC")
        #expect(r[2] == .nil)
        #expect(r[3] == "function")
        #expect(r[4].number == Double.pi)
    }

    @Test("each chunk gets its own _ENV; a shared environment is shared on purpose")
    func environments() throws {
        let lua = try LuaState()
        let a = try lua.load("counter = (counter or 0) + 1; return counter", name: "a")
        let b = try lua.load("counter = (counter or 0) + 1; return counter", name: "b")
        #expect(try a.call(as: Int.self) == 1)
        #expect(try a.call(as: Int.self) == 2)
        #expect(try b.call(as: Int.self) == 1)
        let env = try lua.newEnvironment()
        let c = try lua.load("shared = (shared or 0) + 1; return shared", name: "c", environment: .table(env))
        let d = try lua.load("shared = (shared or 0) + 10; return shared", name: "d", environment: .table(env))
        #expect(try c.call(as: Int.self) == 1)
        #expect(try d.call(as: Int.self) == 11)
        #expect(try env.get("shared") == 11)
    }

    @Test("load without an env uses the caller's environment; with one, that one")
    func loadTakesCallersEnvironment() throws {
        let lua = try LuaState()
        let r = try lua.run("""
            secret = 42
            local f = load("return secret")
            local g = load("return secret", "g", "t", {secret = 7})
            local function inner() local l = load; local _ENV = {secret = 9}; return l("return secret") end
            return f(), g(), inner()()
            """)
        #expect(r == [42, 7, 9])
    }

    @Test("setmetatable refuses __gc; protected metatables stay protected")
    func setmetatableRules() throws {
        let lua = try LuaState()
        #expect {
            try lua.run("setmetatable({}, {__gc = function() end})")
        } throws: { ($0 as? LuaError)?.message.contains("__gc metamethods are not allowed") == true }
        let r = try lua.run("""
            local t = setmetatable({}, {__index = function(_, k) return k .. "!" end, __metatable = "mine"})
            local ok, err = pcall(setmetatable, t, {})
            return t.x, ok, err, getmetatable(t), getmetatable(_ENV)
            """)
        #expect(r[0] == "x!")
        #expect(r[1] == false)
        #expect(r[2].string?.contains("protected metatable") == true)
        #expect(r[3] == "mine")
        #expect(r[4] == "sandbox environment")
    }

    @Test("collectgarbage allows only \"count\"")
    func collectgarbageCount() throws {
        let lua = try LuaState()
        let r = try lua.run("""
            local ok1, e1 = pcall(collectgarbage, 'stop')
            local ok2, e2 = pcall(collectgarbage)
            return collectgarbage('count'), ok1, e1, ok2, e2
            """)
        #expect((r[0].number ?? 0) > 0)
        #expect(r[1] == false)
        #expect(r[2].string?.contains("only \"count\" is allowed") == true)
        #expect(r[3] == false)
        #expect(r[4].string?.contains("(got \"collect\")") == true)
    }

    @Test("the standard pieces work inside the sandbox")
    func standardLibrary() throws {
        let lua = try LuaState()
        let r = try lua.run("""
            local t = {5, 3, 1, 4}
            table.sort(t)
            table.insert(t, 1, 0)
            table.insert(t, 9)
            local removed = table.remove(t, 2)
            local moved = table.move({1, 2, 3}, 1, 3, 2)
            local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
            local words = {}
            for w in ("alpha beta gamma"):gmatch("%a+") do words[#words + 1] = w end
            return table.concat(t, ","), removed, table.concat(moved, ","), co(1), co(5),
                   table.concat(words, "|"), ("x=%d"):format(7), utf8.len("héllo"), math.type(1), math.type(1.0),
                   os.time{year = 2026, month = 1, day = 1, hour = 12} > 0, select("#", table.unpack({1, 2, 3}))
            """)
        #expect(r[0] == "0,3,4,5,9")
        #expect(r[1] == 1)
        #expect(r[2] == "1,1,2,3")
        #expect(r[3] == 2)
        #expect(r[4] == 10)
        #expect(r[5] == "alpha|beta|gamma")
        #expect(r[6] == "x=7")
        #expect(r[7] == 5)
        #expect(r[8] == "integer")
        #expect(r[9] == "float")
        #expect(r[10] == true)
        #expect(r[11] == 3)
    }

    @Test("pairs over a library proxy lists its functions without exposing the real table")
    func proxyPairs() throws {
        let lua = try LuaState()
        let r = try lua.run("""
            local n = 0
            local f, s = pairs(math)
            for k, v in pairs(math) do n = n + 1 end
            return n, s == math, #string, rawget(math, "pi"), next(math)
            """)
        #expect(r[0] == 27)
        #expect(r[1] == true)   // the state handed out is the proxy itself
        #expect(r[3] == .nil)
    }
}
