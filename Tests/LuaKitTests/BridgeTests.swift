@testable import LuaKit
import Synchronization
import Testing

/// Values, references, host functions and errors across the Swift/Lua boundary.
@Suite("Bridge")
struct BridgeTests {
    @Test("integers and floats stay apart through a round trip")
    func integerFloatRoundTrip() throws {
        let lua = try LuaState()
        let identity = try lua.load("return function(...) return ... end", name: "id").call()
        _ = identity
        let id = try lua.run("return function(...) return ..., math.type((...)) end")
        _ = id
        let echo = try lua.load("local a, b, c = ... return a, b, c, math.type(a), math.type(b), math.type(c)", name: "echo")
        let r = try echo.call(.integer(3), .number(3.0), .integer(Int64.min))
        #expect(r[0] == .integer(3))
        #expect(r[1] == .number(3.0))
        #expect(r[2] == .integer(Int64.min))
        #expect(r[3] == "integer")
        #expect(r[4] == "float")
        #expect(r[0] != r[1])
        let typed = try echo.call(Int64(7), 7.5, as: LuaValue.self)
        #expect(typed == .integer(7))
        #expect(try lua.run("return 2^53, 7 // 2, 7 / 2, -0.0") == [.number(9007199254740992), .integer(3), .number(3.5), .number(-0.0)])
    }

    @Test("strings with embedded zero bytes and invalid UTF-8 survive a round trip")
    func bytesRoundTrip() throws {
        let lua = try LuaState()
        let echo = try lua.load("local s = ... return s, #s, s:byte(2)", name: "echo")
        let bytes: [UInt8] = [0x61, 0x00, 0x62, 0xFF, 0x00]
        let r = try echo.call(.string(LuaString(bytes: bytes)))
        #expect(r[0] == .string(LuaString(bytes: bytes)))
        #expect(r[1] == 5)
        #expect(r[2] == 0)
        #expect(r[0].string == nil)
        #expect(try lua.run("return 'a\\0b'") == [.string(LuaString(bytes: [0x61, 0, 0x62]))])
        #expect(try echo.call("héllo", as: String.self) == "héllo")
    }

    @Test("a Lua string reads as a String exactly when its bytes are valid UTF-8")
    func utf8Validity() {
        #expect(LuaString(bytes: [0xEF, 0xBF, 0xBD]).string == "\u{FFFD}")   // the replacement character itself
        #expect(LuaString(bytes: Array("héllo, 世界".utf8)).string == "héllo, 世界")
        #expect(LuaString(bytes: []).string == "")
        for bad: [UInt8] in [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0x61, 0x80], [0xF4, 0x90, 0x80, 0x80]] {
            #expect(LuaString(bytes: bad).string == nil, "\(bad)")
        }
    }

    @Test("tables copy both ways, nested, with mixed keys")
    func tableRoundTrip() throws {
        let lua = try LuaState()
        let table: LuaValue = ["name": "loom", "list": [1, 2.5, "three"], "nested": ["deep": ["x": true]], 10: "ten"]
        let echo = try lua.load("local t = ... return t, #t.list, t.nested.deep.x, t[10]", name: "echo")
        let r = try echo.call(table)
        #expect(r[0] == table)
        #expect(r[1] == 3)
        #expect(r[2] == true)
        #expect(r[3] == "ten")
        #expect(table.debugDescription == #"{[10] = "ten", list = {1, 2.5, "three"}, name = "loom", nested = {deep = {x = true}}}"#)
    }

    @Test("a table with a cycle is a conversion error naming the path")
    func cycleIsAnError() throws {
        let lua = try LuaState()
        do {
            try lua.run("local t = {a = {b = {}}} t.a.b.c = t return t")
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .conversion)
            #expect(error.message.contains("cycle at value.a.b.c"))
        }
        let functions = try lua.run("return print, coroutine.create(print)")
        #expect(functions[0].typeName == "function")
        #expect(functions[1].typeName == "thread")
        #expect(throws: LuaError.self) { try lua.load("return ...", name: "x").call(functions[0]) }
    }

    @Test("host functions check their arguments like Lua's own library")
    func hostFunctionArguments() throws {
        let lua = try LuaState()
        let env = try lua.newEnvironment()
        try lua.register("add", in: env) { call in
            try call.results(try call.integer(1) + call.integer(2))
        }
        try lua.register("greet", in: env) { call in
            let name = try call.string(1)
            let times = try call.optionalInteger(2) ?? 1
            return try call.results(String(repeating: "hi \(name) ", count: Int(times)))
        }
        let chunk = try lua.load("""
            local ok1, e1 = pcall(add, "x", 2)
            local ok2, e2 = pcall(add, 1.5, 2)
            local ok3, e3 = pcall(add, 1)
            return add(2, 3), add("4", 5), greet("ada", 2), e1, e2, e3, pcall(greet)
            """, name: "args.lua", environment: .table(env))
        let r = try chunk.call()
        #expect(r[0] == 5)
        #expect(r[1] == 9)
        #expect(r[2] == "hi ada hi ada ")
        #expect(r[3] == "bad argument #1 to 'add' (number expected, got string)")
        #expect(r[4] == "bad argument #1 to 'add' (number has no integer representation)")
        #expect(r[5] == "bad argument #2 to 'add' (number expected, got no value)")
        #expect(r[6] == false)
        #expect(r[7] == "bad argument #1 to 'greet' (string expected, got no value)")
    }

    final class Tracked: Sendable {
        static let live = Atomic<Int>(0)
        init() { Tracked.live.add(1, ordering: .relaxed) }
        deinit { Tracked.live.subtract(1, ordering: .relaxed) }
    }

    struct Failure: Error, CustomStringConvertible {
        let tracked: Tracked
        var description: String { "failed on purpose" }
    }

    @Test("a throwing host function called 10,000 times under pcall leaks nothing")
    func throwingHostFunctionLeaksNothing() throws {
        // Tracked objects are counted process-wide but only this test makes them; host-function
        // boxes are made by tests running in parallel, so the captured object stands for its box.
        do {
            let lua = try LuaState()
            let env = try lua.newEnvironment()
            let captured = Tracked()
            try lua.register("fail", in: env) { _ in
                _ = captured
                let local = Tracked()
                throw Failure(tracked: local)
            }
            let r = try lua.load("""
                local n, last = 0, nil
                for i = 1, 10000 do
                  local ok, err = pcall(fail, i)
                  if not ok then n = n + 1; last = err end
                end
                return n, last
                """, name: "leak.lua", environment: .table(env)).call()
            #expect(r == [10000, "fail: failed on purpose"])
            #expect(Tracked.live.load(ordering: .relaxed) == 1)  // only `captured`, held by the function's box
        }
        // Closing the state (here: dropping it) releases the function's box and what it captured.
        #expect(Tracked.live.load(ordering: .relaxed) == 0)
    }

    @Test("errors carry kind, chunk, line and traceback")
    func errorDetails() throws {
        let lua = try LuaState()
        do {
            try lua.run("local x = 1\nlocal function f() error('broken here') end\nf()", name: "scripts/demo.lua")
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .runtime)
            #expect(error.chunk == "scripts/demo.lua")
            #expect(error.line == 2)
            #expect(error.message == "broken here")
            #expect(error.traceback?.contains("stack traceback:") == true)
            #expect(error.traceback?.contains("scripts/demo.lua:3") == true)
            #expect(error.summary == "scripts/demo.lua:2: broken here")
        }
        do {
            _ = try lua.load("local x = \n\n  = 2", name: "bad.lua")
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .syntax)
            #expect(error.chunk == "bad.lua")
            #expect(error.line == 3)
            #expect(error.message.contains("unexpected symbol"))
        }
        do {
            try lua.run("error({code = 1})", name: "obj.lua")
        } catch {
            #expect(error.message == "(error object is a table value)")
            #expect(error.chunk == "obj.lua")
            #expect(error.line == 1)
        }
    }

    @Test("references die with the state; closing inside a call is refused")
    func referencesAndClose() throws {
        let lua = try LuaState()
        let f = try lua.load("return 1", name: "one")
        let env = try lua.newEnvironment()
        try lua.register("close_me", in: env) { call in
            do {
                try lua.close()
                return try call.results("closed")
            } catch let error as LuaError {
                return try call.results(error.message)
            }
        }
        let r = try lua.load("return close_me()", name: "c", environment: .table(env)).call()
        #expect(r == ["cannot close a Lua state from inside one of its own calls"])
        try lua.close()
        try lua.close()
        do {
            try f.call()
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .state)
        }
    }

    @Test("many states live side by side, each with its own limits")
    func manyStates() throws {
        var states: [LuaState] = []
        for i in 0..<50 {
            let lua = try LuaState(limits: LuaLimits(timeout: .seconds(1), memory: 1 << 20))
            try lua.run("n = \(i)", environment: .globals)
            states.append(lua)
        }
        for (i, lua) in states.enumerated() {
            #expect(try lua.run("return n", environment: .globals) == [.integer(Int64(i))])
            #expect(lua.memoryUsed < 1 << 20)
        }
    }

    @Test("LuaError.splitPosition handles prefixes and plain messages")
    func splitPosition() {
        #expect(LuaError.splitPosition("a.lua:12: boom") ?? ("", 0, "") == ("a.lua", 12, "boom"))
        #expect(LuaError.splitPosition("[string \"x:1\"]:3: bad") ?? ("", 0, "") == ("[string \"x:1\"]", 3, "bad"))
        #expect(LuaError.splitPosition("no position here") == nil)
        #expect(LuaError.splitPosition("ends with a colon:") == nil)
        #expect(LuaError.splitPosition(":12: no chunk") == nil)
    }
}
