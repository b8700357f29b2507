import Foundation
import LoomAudit
import LoomRuntime
import LoomTesting
import LuaKit
import Testing

/// The Everything Audit on small trees with planted findings. The trees are written at test time,
/// and the planted secrets are assembled from pieces, so that auditing Loom's own tree does not
/// report this file.
@Suite struct AuditTests {
    static let weaver: String = {
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Examples/weaver").path
    }()

    /// The tree to audit is `tree/` in a temporary folder; the report goes beside it.
    final class Tree {
        let folder = TemporaryFolder(prefix: "loom-audit")
        var root: String { folder.root }
        var tree: String { folder.path("tree") }
        func write(_ path: String, _ text: String) throws { try folder.write("tree/" + path, text) }
    }

    struct Report {
        let json: [String: Any]
        let result: Audit.Result
        /// auditor -> its findings as "rule file:line"
        var findings: [String: [String]] {
            var out: [String: [String]] = [:]
            for a in json["auditors"] as? [[String: Any]] ?? [] {
                let agent = a["agent"] as! String
                out[agent] = (a["findings"] as? [[String: Any]] ?? []).map {
                    "\($0["rule"]!) \($0["file"]!):\($0["line"]!)"
                }.sorted()
            }
            return out
        }
        func stats(_ agent: String) -> [String: Any] {
            let a = (json["auditors"] as! [[String: Any]]).first { $0["agent"] as? String == agent }!
            return a["stats"] as? [String: Any] ?? [:]
        }
    }

    static func audit(_ t: Tree, store: SQLiteNodeStore? = nil) async throws -> Report {
        let s = try store ?? SQLiteNodeStore(path: t.root + "/node.sqlite")
        var audit = Audit(node: weaver, tree: t.tree, output: t.root + "/out")
        audit.store = s
        let result = try await audit.run()
        let data = try Data(contentsOf: URL(fileURLWithPath: result.jsonPath))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(FileManager.default.fileExists(atPath: result.markdownPath))
        return Report(json: json, result: result)
    }

    static func dirty() throws -> Tree {
        let t = Tree()
        try t.write("README.md", """
            # Demo
            See [the guide](docs/guide.md), [a missing page](docs/missing.md), [the web](https://example.com)
            and [a section](#usage).
            ```
            [not a link](nowhere.md)
            ```
            """)
        try t.write("docs/guide.md", "Back to [the top](../README.md); [outside](../../outside.md)\n")
        try t.write("config/app.toml", "[db]\n" + "pass" + "word = \"hunter22\"\nuser = \"app\"\n")
        try t.write("keys/id_rsa", "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n")
        try t.write("src/cloud.py", """
            KEY = "\("AKIA" + "IOSFODNN7EXAMPLE")"
            def handler(event):
                \"\"\"Handles one event.\"\"\"
                return ev\("al")(event)
            # ev\("al")(not_this_one)
            def undocumented():
                return 1
            """)
        var c = "#include <string.h>\n\nvoid copy(char *dst, const char *src) {\n    str\("cpy")(dst, src);\n"
        for i in 0..<88 { c += "    dst[\(i)] = src[\(i)];\n" }
        c += "}\n\nint deep(int x) {\n    if (x) {\n        if (x > 1) {\n            if (x > 2) {\n                if (x > 3) {\n"
        c += "                    if (x > 4) {\n                        return 5;\n                    }\n                }\n            }\n"
        c += "        }\n    }\n    return 0;\n}\n"
        try t.write("src/util.c", c)
        let block = """
                let total = values.reduce(0, +)
                let average = total / values.count
                let spread = values.map { abs($0 - average) }
                let largest = spread.max() ?? 0
                let smallest = spread.min() ?? 0
                let summary = "\\(largest) \\(smallest)"
                print(summary, average, total)
            """
        try t.write("src/a.swift", "/// A.\npublic func first(values: [Int]) {\n\(block)\n}\n")
        try t.write("src/b.swift", "/// B.\npublic func second(values: [Int]) {\n    print(values)\n\(block)\n}\n")
        try t.write("src/notes.swift", """
            // TO\("DO"): remove the cache
            // FIX\("ME")(ana): the retry loop
            // HA\("CK"): until the API settles
            let banner = "\(String(repeating: "=", count: 130))"
            public struct Undocumented {}
            """)
        try t.write("skills/greet/skill.toml", """
            name = "greet"
            version = "1.0.0"
            description = "Greets people by name"
            provides = ["greet@1"]
            requires = ["missing@1"]
            """)
        try t.write("agents/bot/agent.toml", "name = \"bot\"\ndescription = \"Says hello to everyone\"\nuses = [\"greet@1\", \"log@1\"]\n")
        try t.write("agents/bot/agent.lua", "function on_task(t) return t end\n")
        try t.write(".gitignore", "ignored/\n")
        try t.write("ignored/leak.toml", "pass" + "word = \"ignored-secret\"\n")
        return t
    }

    @Test func plantedFindingsAreReportedExactly() async throws {
        let t = try Self.dirty()
        let r = try await Self.audit(t)
        let f = r.findings
        #expect(f["security-auditor"] == [
            "dangerous-call src/cloud.py:4", "dangerous-call src/util.c:4",
            "secret.aws-access-key src/cloud.py:1", "secret.password config/app.toml:2", "secret.private-key keys/id_rsa:1",
        ])
        #expect(f["integration-auditor"] == [
            "files.missing skills/greet/skill.toml:0", "links.broken README.md:2", "links.broken docs/guide.md:1",
        ])
        #expect(f["pattern-detector"] == ["duplicate-block src/b.swift:4"])
        #expect(f["health-auditor"] == [
            "long-lines src/notes.swift:4", "marker.fixme src/notes.swift:2", "marker.hack src/notes.swift:3",
            "marker.todo src/notes.swift:1",
        ])
        #expect(f["performance-optimizer"] == ["deep-nesting src/util.c:100", "long-function src/util.c:3"])
        #expect(f["doc-synthesizer"] == [
            "docs.undocumented src/cloud.py:6", "docs.undocumented src/notes.swift:5",
        ])
        #expect(f["capability-curator"] == ["capability.unprovided skills/greet/skill.toml:1"])
        #expect(f["agent-architect"] == ["manifest.below-threshold agents/bot/agent.toml:1", "manifest.below-threshold skills/greet/skill.toml:1"])
        #expect(f["test-architect"] == ["tests.missing agents/bot:0", "tests.missing src:0"])
        #expect(f["code-archaeologist"] == [])
        #expect(r.stats("code-archaeologist")["files"] as? Int == 13)
        let priorities = r.json["priorities"] as? [[String: Any]] ?? []
        #expect(priorities.count == 10)
        #expect(priorities.first?["severity"] as? String == "critical")
    }

    @Test func aCleanTreeHasNoFindings() async throws {
        let t = Tree()
        try t.write("README.md", "# Clean\nRead [the guide](docs/guide.md).\n")
        try t.write("docs/guide.md", "Back to [the top](../README.md).\n")
        try t.write("Sources/Main/main.swift", "/// Adds.\npublic func add(_ a: Int, _ b: Int) -> Int { a + b }\n")
        try t.write("Tests/MainTests/MainTests.swift", "import Testing\n@Test func adds() { #expect(1 + 1 == 2) }\n")
        try t.write("skills/hello/skill.toml", """
            name = "hello"
            version = "1.0.0"
            description = "Says hello politely"
            provides = ["hello@1"]
            permissions = []
            """)
        try t.write("skills/hello/init.lua", "local M = {}\n--- Greets.\nfunction M.greet(name) return \"hello \" .. name end\nreturn M\n")
        try t.write("skills/hello/hello_test.lua", "it(\"greets\", function() end)\n")
        try t.write("config/app.toml", "pass" + "word = \"${APP_PASSWORD}\"\n")
        let r = try await Self.audit(t)
        for (agent, list) in r.findings { #expect(list == [], "\(agent)") }
        #expect(r.stats("agent-architect")["average"] as? Double == 100 || r.stats("agent-architect")["average"] as? Int == 100)
        #expect((r.json["priorities"] as? [Any])?.count == 0)
    }

    @Test func aSecondRunReusesMemoryAndAChangedFileIsAnalysedAgain() async throws {
        let t = try Self.dirty()
        let first = try await Self.audit(t)
        #expect(first.result.rows.allSatisfy { $0.reused == 0 })
        let second = try await Self.audit(t)
        #expect(second.result.rows.allSatisfy { $0.analysed == 0 && $0.reused == $0.files })
        #expect(second.findings == first.findings)
        try t.write("src/notes.swift", "// TO\("DO"): only this one now\n")
        let third = try await Self.audit(t)
        let health = third.result.rows.first { $0.agent == "health-auditor" }!
        #expect(health.analysed == 1)
        #expect(third.findings["health-auditor"] == ["marker.todo src/notes.swift:1"])
    }

    @Test func aMissingTreeIsAClearError() async throws {
        let audit = Audit(node: Self.weaver, tree: "/nonexistent/tree", output: "/tmp/unused")
        await #expect(throws: AuditError.self) { try await audit.run() }
        do { _ = try await audit.run() } catch { #expect("\(error)".contains("/nonexistent/tree does not exist")) }
    }
}
