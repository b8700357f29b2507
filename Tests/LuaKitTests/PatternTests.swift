import Foundation
import LuaKit
import Testing

@Suite("Patterns")
struct PatternTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    @Test("Loom's pattern functions agree with Lua's string library on a corpus and random cases")
    func differential() throws {
        let lua = try LuaState(limits: LuaLimits(timeout: .seconds(60)))
        // Host code sees the real string library as `string`; the sandbox's functions are reached
        // through the string metatable.
        let compare = try lua.loadFile(Self.fixtures.appendingPathComponent("pattern_differential.lua").path,
                                       environment: .globals)
        let driver = try lua.load("""
            local run = ...
            local ours = getmetatable("").__index
            assert(ours.find ~= string.find and ours.gsub ~= string.gsub, "comparing the library with itself")
            assert(ours.match ~= string.match and ours.gmatch ~= string.gmatch, "comparing the library with itself")
            return run(string, ours)
            """, name: "driver", environment: .globals)
        let cases = try driver.call(compare, as: Int.self)
        #expect(cases > 20_000)
    }
}
