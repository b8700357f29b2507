import Foundation
import Testing

@Suite("loom check, lineage, why, resolve")
struct LineageCommandTests {
    @Test("loom check prints all ten problems of ten broken manifests, with positions, and exits 1")
    func checkTenBroken() throws {
        let root = try LoomProcess.tree([
            "n1/node.toml": "name = \"n1\"\nparents = 3\n",
            "n2/node.toml": "name = \"n2\"\nparnets = []\n",
            "n1/skills/a/skill.toml": "name = \"a\"\nversion = \"1\"\n", "n1/skills/a/init.lua": "",
            "n1/skills/b/skill.toml": "name = \"b\"\nversion = \"1.0.0\"\nprovides = [\"b\"]\n", "n1/skills/b/init.lua": "",
            "n1/skills/c/skill.toml": "name = \"c\"\nversion = \"1.0.0\"\npermissions = [\"nett\"]\n", "n1/skills/c/init.lua": "",
            "n1/skills/d/skill.toml": "name = \"D\"\nversion = \"1.0.0\"\n", "n1/skills/d/init.lua": "",
            "n1/skills/e/skill.toml": "name = \"e\"\nversion = \"1.0.0\"\n",
            "n1/agents/f/agent.toml": "name = \"f\"\nbehaviour = \"f.lua\"\n",
            "n1/agents/g/agent.toml": "name = \"g\"\nuses = [\"x@1\"\n", "n1/agents/g/agent.lua": "",
            "n1/agents/h/agent.toml": "name = \"h\"\nusez = []\n", "n1/agents/h/agent.lua": "return 1",
            "n1/agents/i/agent.toml": "name = \"i\"\n", "n1/agents/i/agent.lua": "function on_task( return end",
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try LoomProcess.run(["check", root.path])
        #expect(r.status == 1)
        let problems = r.stderr.split(separator: "\n").filter { $0.contains(": error: ") }
        #expect(problems.count == 11, "\(r.stderr)")   // ten manifests and one Lua syntax error
        let positioned = problems.filter { $0.range(of: #"^[^:]+:\d+:\d+: error: "#, options: .regularExpression) != nil }
        #expect(positioned.count == 11)
        #expect(r.stderr.contains("n2/node.toml:2:1: error: unknown key 'parnets' in node.toml"))
        #expect(r.stderr.contains("hint: did you mean 'parents'?"))
        #expect(r.stderr.contains("n1/agents/i/agent.lua:1:1: error:"))
        #expect(r.stderr.contains("11 problem(s)"))
    }

    @Test("loom check passes on the examples")
    func checkExamples() throws {
        let r = try LoomProcess.run(["check", "Examples"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("ok: "))
    }

    @Test("loom lineage --json prints the C3 order")
    func lineageJSON() throws {
        let r = try LoomProcess.run(["lineage", "Examples/child", "--json"])
        #expect(r.status == 0)
        #expect(r.stdout == "{\"order\":[\"child\",\"weaver\",\"acgee\"]}\n")
    }

    @Test("loom why explains the provider, the override chain and the rejected candidates")
    func why() throws {
        let r = try LoomProcess.run(["why", "Examples/child", "search@1", "--json"])
        #expect(r.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let chain = try #require(json["chain"] as? [[String: String]])
        #expect(chain.map { $0["node"] } == ["child", "weaver"])
        let text = try LoomProcess.run(["why", "Examples/child", "text.scan@1"])
        #expect(text.stdout.contains("text.scan@1 is provided by text.scan 1.2.0 from node weaver"))
        // Examples/child has a loom.lock: the runtime keeps its provider, and `why` says so.
        #expect(text.stdout.contains("weaver has text.scan@1 (1.2.0) in text.scan: kept from loom.lock"), "\(text.stdout)")
        let root = try LoomProcess.tree([
            "a/node.toml": "name = \"a\"\nparents = [\"b\"]\n",
            "a/agents/x/agent.toml": "name = \"x\"\nuses = [\"search@1\"]\n", "a/agents/x/agent.lua": "",
            "b/node.toml": "name = \"b\"\n",
            "b/skills/s/skill.toml": "name = \"fast.search\"\nversion = \"2.1.0\"\nprovides = [\"search@2\"]\n", "b/skills/s/init.lua": "",
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let missing = try LoomProcess.run(["why", root.appendingPathComponent("a").path, "search@1"])
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("a has no skill providing search"))
        #expect(missing.stdout.contains("b has search@2 (2.1.0) in fast.search, outside @1"))
    }

    @Test("loom resolve writes a stable loom.lock; --locked names a difference")
    func resolve() throws {
        let examples = LoomProcess.packageRoot.appendingPathComponent("Examples")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-cli-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: examples, to: root)
        defer { try? FileManager.default.removeItem(at: root) }
        let child = root.appendingPathComponent("child")
        try? FileManager.default.removeItem(at: child.appendingPathComponent("loom.lock"))
        let first = try LoomProcess.run(["resolve", child.path])
        #expect(first.status == 0, "\(first.stderr)")
        let bytes1 = try Data(contentsOf: child.appendingPathComponent("loom.lock"))
        let second = try LoomProcess.run(["resolve", child.path])
        #expect(second.stdout.contains("up to date"))
        #expect(try Data(contentsOf: child.appendingPathComponent("loom.lock")) == bytes1)
        try "-- edited\nreturn {}\n".write(to: root.appendingPathComponent("weaver/skills/text-scan/init.lua"), atomically: true, encoding: .utf8)
        let locked = try LoomProcess.run(["resolve", child.path, "--locked"])
        #expect(locked.status == 1)
        #expect(locked.stderr.contains("loom.lock would change"))
        #expect(locked.stderr.contains("text.scan@1: files changed"))
        #expect(try Data(contentsOf: child.appendingPathComponent("loom.lock")) == bytes1)
    }
}
