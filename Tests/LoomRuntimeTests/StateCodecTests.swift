import LoomRuntime
import LuaKit
import Testing

@Suite("State serialization")
struct StateCodecTests {
    @Test("every storable value survives, integers and floats apart, bytes exact")
    func roundTrip() throws {
        let value: LuaValue = [
            "n": 1, "f": 1.0, "neg": -7, "big": .integer(Int64.max), "pi": 3.14159, "yes": true, "no": false,
            "bytes": .string(LuaString(bytes: [0, 255, 10, 0])), "list": [1, "two", [3]],
            1: "one", 2.5: "two and a half", true: "t",
        ]
        let bytes = try StateCodec.encode(value)
        #expect(Array(bytes.prefix(4)) == Array("LST1".utf8))
        #expect(try StateCodec.decode(bytes) == value)
        #expect(try StateCodec.encode(value) == bytes)   // stable
        #expect(try StateCodec.decode(StateCodec.encode(.nil)) == .nil)
    }

    @Test("functions, userdata and cycles are errors naming the path")
    func unstorable() throws {
        let lua = try LuaState()
        let withFunction = try lua.run("return {a = {b = {print}}}")[0]
        do {
            _ = try StateCodec.encode(withFunction)
            Issue.record("expected an error")
        } catch {
            #expect(error.message == "cannot store state.a.b[1]: a function (only nil, booleans, numbers, strings and tables can be stored)")
        }
        let env = try lua.newEnvironment()
        try lua.load("state = {x = {}}; state.x.self = state", name: "cycle", environment: .table(env)).call()
        do {
            _ = try env.rawRef("state")!.value(path: "state")
            Issue.record("expected an error")
        } catch {
            #expect(error.message == "table contains a cycle at state.x.self")
        }
    }

    @Test("corrupt bytes are refused with a reason")
    func corrupt() {
        #expect(throws: StateCodec.Failure.self) { try StateCodec.decode([]) }
        #expect(throws: StateCodec.Failure.self) { try StateCodec.decode(Array("LST1".utf8) + [6, 5]) }
        #expect(throws: StateCodec.Failure.self) { try StateCodec.decode(Array("LST1".utf8) + [9]) }
        #expect(throws: StateCodec.Failure.self) { try StateCodec.decode(Array("LST1".utf8) + [3, 1, 2]) }
    }
}
