import Foundation
import LoomAuthoring
@testable import LoomRuntime
import LuaKit
import Testing

@Suite struct HostAPITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func everyRegisteredHostFunctionIsDescribedAndNothingElse() async throws {
        let fixture = try single(["a": "function on_task() return 1 end"])
        var options = NodeOptions()
        options.fileRoots = ["tree": fixture.root]
        let node = try await start(fixture, options: options)
        let registered = await node.registeredHostFunctions()
        await node.shutdown()
        let described = Set(HostAPI.functions.map(\.name))
        #expect(registered == described, "registered but not described: \(registered.subtracting(described).sorted()); described but not registered: \(described.subtracting(registered).sorted())")
    }

    @Test func theStubsParseAndNameEveryFunction() throws {
        let skill = SkillStub(name: "greeting", capabilities: ["greeting@1"], source: """
            local M = {}
            --- Greets.
            ---@param who string
            ---@return string
            function M.greet(who) return "hi " .. who end
            local function hidden() end
            return M
            """)
        let files = HostAPI.stubs(skills: [skill])
        let lua = try LuaState()
        for (name, text) in files { _ = try lua.load(text, name: name) }
        let host = try #require(files["loom.lua"])
        for f in HostAPI.functions where f.name != "use" {
            #expect(host.contains("function \(f.name)("), "\(f.name) has no stub")
        }
        #expect(host.contains("---@overload fun(capability: \"greeting@1\"): skill.greeting"))
        #expect(files["skill-greeting.lua"]?.contains("---@param who string\n---@return string\nfunction M.greet(who) end") == true)
        #expect(files["skill-greeting.lua"]?.contains("hidden") == false)
    }

    @Test func theDocumentCarriesTheGeneratedReference() throws {
        let doc = try String(contentsOf: Self.root.appendingPathComponent("docs/lua-api.md"), encoding: .utf8)
        #expect(doc.contains(HostAPI.markdown), "docs/lua-api.md is out of date: replace its reference with `loom stubs --markdown`")
    }

    @Test func luacheckKnowsEveryGlobal() throws {
        let rc = try String(contentsOf: Self.root.appendingPathComponent(".luacheckrc"), encoding: .utf8)
        // The repository's file is the one `loom init` writes, plus exclusions.
        #expect(rc.contains(Scaffold.luacheckrc.split(separator: "\n").dropFirst(2).joined(separator: "\n")))
        let names = HostAPI.functions.map { String($0.name.split(separator: ".")[0]) } + HostAPI.values.map(\.name) + HostAPI.handlers.map(\.name)
        for name in Set(names) {
            #expect(rc.contains("\"\(name)\""), "\(name) is missing from .luacheckrc")
        }
    }
}
