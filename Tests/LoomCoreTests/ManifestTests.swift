import Foundation
@testable import LoomCore
import LoomTesting
import Testing

@Suite("Manifests")
struct ManifestTests {
    static let goodSkill = """
        name = "audit.secrets"
        version = "1.2.0"
        description = "Finds committed credentials"
        entry = "init.lua"
        provides = ["audit.secrets@1"]
        requires = ["fs.read@1", "text.scan@1 >=1.1"]
        optional = ["memory@1"]
        conflicts = ["legacy.secrets"]
        permissions = ["fs.read"]
        [limits]
        instructions = 50_000_000
        """

    func parseSkill(_ text: String, files: Set<String> = ["init.lua"]) throws(ManifestError) -> SkillManifest {
        try SkillManifest.parse(text: text, file: "s/skill.toml", directory: "s") { files.contains($0) }
    }

    @Test("a valid skill manifest reads every field")
    func validSkill() throws {
        let s = try parseSkill(Self.goodSkill)
        #expect(s.name == "audit.secrets")
        #expect(s.version == SemanticVersion(1, 2, 0))
        #expect(s.provides.map(\.key) == ["audit.secrets@1"])
        #expect(s.requires.map(\.description) == ["fs.read@1", "text.scan@1 >=1.1"])
        #expect(s.optional.map(\.key) == ["memory@1"])
        #expect(s.permissions == [.fsRead])
        #expect(s.limits.instructions == 50_000_000)
    }

    func problems(_ text: String, files: Set<String> = ["init.lua"]) -> [Diagnostic] {
        do {
            _ = try parseSkill(text, files: files)
            return []
        } catch {
            return error.diagnostics
        }
    }

    @Test("a bad TOML type is reported with its line")
    func badType() {
        let d = problems("name = \"x.y\"\nversion = 1\nprovides = [\"x.y@1\"]\n")
        #expect(d.count == 1)
        #expect(d.first?.message == "'version' must be a string, found integer")
        #expect(d.first?.line == 2)
        #expect(d.first?.column == 1)
    }

    @Test("an unknown key gets did-you-mean")
    func unknownKey() {
        let d = problems("name = \"x.y\"\nversion = \"1.0.0\"\nprovide = [\"x.y@1\"]\n")
        #expect(d.count == 1)
        #expect(d.first?.message == "unknown key 'provide' in skill.toml")
        #expect(d.first?.hint == "did you mean 'provides'?")
        #expect(d.first?.line == 3)
        #expect(d.first?.description.hasPrefix("s/skill.toml:3:1: error: unknown key 'provide'") == true)
    }

    @Test("a TOML syntax error has TOML's line and column")
    func syntaxError() {
        let d = problems("name = \"x.y\"\nversion = \"1.0.0\nprovides = []\n")
        #expect(d.count == 1)
        #expect(d.first?.line == 2)
        #expect(d.first?.column != nil)
        #expect(d.first?.message.hasPrefix("TOML syntax:") == true)
    }

    @Test("every problem in a file is reported, each with its position")
    func allProblems() {
        let text = """
            name = "Bad Name"
            version = "1.0"
            entry = "missing.lua"
            provides = ["ok@1", "broken"]
            requires = ["x@one"]
            permissions = ["fs.reed", "teleport"]
            extendz = "a"
            """
        let d = problems(text, files: [])
        #expect(d.count == 8, "\(d.map(\.description))")
        let lines = d.compactMap(\.line)
        #expect(lines.count == 8)
        #expect(d.contains { $0.message == "'Bad Name' is not a valid skill name" && $0.line == 1 })
        #expect(d.contains { $0.message.contains("'1.0' is not a semantic version") && $0.line == 2 })
        #expect(d.contains { $0.message == "entry file 'missing.lua' does not exist" && $0.line == 3 })
        #expect(d.contains { $0.message.contains("bad capability \"broken\"") && $0.line == 4 && $0.column == 21 })
        #expect(d.contains { $0.message.contains("'one' after '@' must be the major version") && $0.line == 5 })
        #expect(d.contains { $0.message == "unknown permission 'fs.reed'" && $0.hint == "did you mean 'fs.read'?" && $0.line == 6 })
        #expect(d.contains { $0.message == "unknown permission 'teleport'" })
        #expect(d.contains { $0.message == "unknown key 'extendz' in skill.toml" && $0.hint == "did you mean 'extends'?" && $0.line == 7 })
    }

    @Test("node.toml: lineage paths, prefer, constitution, and their errors")
    func nodeManifest() throws {
        let n = try NodeManifest.parse(text: """
            name = "child"
            parents = ["weaver", "acgee"]
            skills = ["skills", "../../Skills"]
            [lineage]
            paths = ["../nodes"]
            [prefer]
            "search@1" = "fast.search"
            [constitution]
            lineage = ["fs.read", "log"]
            foreign = []
            """, file: "child/node.toml", directory: "child")
        #expect(n.parents == ["weaver", "acgee"])
        #expect(n.lineagePaths == ["../nodes"])
        #expect(n.prefer == ["search@1": "fast.search"])
        #expect(n.constitution.lineage == [.fsRead, .log])
        #expect(n.constitution.foreign.isEmpty)
        #expect(n.constitution.own == Set(Permission.allCases))
        do {
            _ = try NodeManifest.parse(text: "name = \"n\"\nparents = [\"n\"]\n[constitution]\nown = [\"root\"]\n", file: "n/node.toml", directory: "n")
            Issue.record("expected errors")
        } catch {
            #expect(error.diagnostics.count == 2)
            #expect(error.diagnostics.contains { $0.message == "node 'n' names itself as a parent" })
            #expect(error.diagnostics.contains { $0.message == "unknown permission 'root'" && $0.line == 4 })
        }
    }

    @Test("loom check finds ten broken manifests in a tree, all with positions")
    func checkTree() throws {
        let tree = try TemporaryFolder(merge(
            node("n1", "name = \"n1\"\nparents = 3\n"),                                  // 1 bad type
            node("n2", "name = \"n2\"\nparnets = []\n"),                                  // 2 unknown key
            skill("n1/skills/a", "name = \"a\"\nversion = \"1\"\n"),                        // 3 bad version
            skill("n1/skills/b", "name = \"b\"\nversion = \"1.0.0\"\nprovides = [\"b\"]\n"), // 4 bad capability
            skill("n1/skills/c", "name = \"c\"\nversion = \"1.0.0\"\npermissions = [\"nett\"]\n"), // 5 bad permission
            skill("n1/skills/d", "name = \"D\"\nversion = \"1.0.0\"\n"),                    // 6 bad name
            ["n1/skills/e/skill.toml": "name = \"e\"\nversion = \"1.0.0\"\n"],             // 7 missing entry
            ["n1/agents/f/agent.toml": "name = \"f\"\nbehaviour = \"f.lua\"\n"],            // 8 missing behaviour
            ["n1/agents/g/agent.toml": "name = \"g\"\nuses = [\"x@1\"\n", "n1/agents/g/agent.lua": ""], // 9 TOML syntax
            ["n1/agents/h/agent.toml": "name = \"h\"\nusez = []\n", "n1/agents/h/agent.lua": ""],     // 10 unknown key
            skill("n1/skills/ok", "name = \"ok\"\nversion = \"1.0.0\"\n")
        ))
        let diagnostics = ManifestChecker().check(path: tree.root)
        #expect(diagnostics.count == 10, "\(diagnostics.map(\.description).joined(separator: "\n"))")
        #expect(diagnostics.allSatisfy { $0.line != nil })
        #expect(Set(diagnostics.map(\.file)).count == 10)
    }

    @Test("loom check hands Lua files to the compiler it is given")
    func checkCompiles() throws {
        let tree = try TemporaryFolder(["x/a.lua": "return 1", "x/b.lua": "return = 1"])
        let d = ManifestChecker().check(path: tree.root) { file in
            file.hasSuffix("b.lua") ? Diagnostic(file: file, line: 1, message: "syntax") : nil
        }
        #expect(d.count == 1)
        #expect(d.first?.file.hasSuffix("b.lua") == true)
    }

    @Test("[memory] ranking weights and schedule are numbers; anything else is reported")
    func memorySettings() throws {
        let n = try NodeManifest.parse(text: "name = \"n\"\n[memory]\nweight_text = 2\nhalf_life_days = 0.5\nconsolidate_every = 60\n",
                                       file: "n/node.toml", directory: "n")
        #expect(n.memory.values == ["weight_text": 2, "half_life_days": 0.5, "consolidate_every": 60])
        do {
            _ = try NodeManifest.parse(text: "name = \"n\"\n[memory]\nweight_text = \"high\"\nweight_txt = 1\n", file: "n/node.toml", directory: "n")
            Issue.record("expected errors")
        } catch {
            #expect(error.diagnostics.map(\.message).sorted() == ["'weight_text' must be a number, found string", "unknown key 'weight_txt' in [memory]"])
            #expect(error.diagnostics.first { $0.message.hasPrefix("unknown key") }?.hint == "did you mean 'weight_text'?")
        }
    }
}
