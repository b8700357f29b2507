import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@Suite("loom init, new, test, stubs")
struct AuthoringCommandTests {
    func scratch() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-author-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        return root
    }

    @Test("the scaffolds pass check and test as created; bad names are refused")
    func scaffolds() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let node = root.appendingPathComponent("garden").path
        let created = try LoomProcess.run(["init", node])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(FileManager.default.fileExists(atPath: node + "/.loom/identity/node.key"))
        #expect(FileManager.default.fileExists(atPath: node + "/.luarc.json"))
        #expect(FileManager.default.fileExists(atPath: node + "/.loom/stubs/loom.lua"))
        #expect(FileManager.default.fileExists(atPath: node + "/.loom/stubs/skill-greeting.lua"))
        #expect(try LoomProcess.run(["new", "skill", "text.tools", "--node", node]).status == 0)
        #expect(try LoomProcess.run(["new", "agent", "scout", "--node", node]).status == 0)
        #expect(try LoomProcess.run(["check", node]).status == 0)
        let tests = try LoomProcess.run(["test", node])
        #expect(tests.status == 0, "\(tests.stdout)\(tests.stderr)")
        #expect(tests.stdout.contains("4 passed, 0 failed, 0 pending, in 4 files"))
        let run = try LoomProcess.run(["run", node, "--task", "Ada", "--to", "greeter"])
        #expect(run.stdout == "hello, Ada\n")
        let bad = try LoomProcess.run(["new", "agent", "Bad_Name", "--node", node])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("'Bad_Name' is not an agent name"))
        let badSkill = try LoomProcess.run(["new", "skill", "x..y", "--node", node])
        #expect(badSkill.stderr.contains("'x..y' is not a skill name"))
        #expect(try LoomProcess.run(["new", "agent", "scout", "--node", node]).stderr.contains("exists already"))
        #expect(try LoomProcess.run(["init", node]).stderr.contains("is a node already"))
    }

    /// A skill folder with one passing, one failing, one pending and one runaway test.
    func failing(_ root: URL) throws -> String {
        let dir = root.appendingPathComponent("skills/calc")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "name = \"calc\"\nversion = \"1.0.0\"\nprovides = [\"calc@1\"]\npermissions = []\n"
            .write(to: dir.appendingPathComponent("skill.toml"), atomically: true, encoding: .utf8)
        try "return { add = function(a, b) return a + b end }\n".write(to: dir.appendingPathComponent("init.lua"), atomically: true, encoding: .utf8)
        try """
            local calc = use("calc@1")
            describe("calc", function()
              it("adds", function()
                assert.equals(3, calc.add(1, 2))
              end)
              it("adds wrong", function()
                assert.equals(5, calc.add(2, 2))
              end)
              pending("divides")
              it("spins", function()
                while true do end
              end)
            end)
            """.write(to: dir.appendingPathComponent("calc_test.lua"), atomically: true, encoding: .utf8)
        return root.appendingPathComponent("skills").path
    }

    @Test("a failing assertion names file and line with expected and actual, and the exit code is 1")
    func failure() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let skills = try failing(root)
        let out = try LoomProcess.run(["test", skills, "--timeout", "0.3"])
        #expect(out.status == 1)
        #expect(out.stdout.contains("✘ calc › adds wrong"))
        #expect(out.stdout.contains("calc/calc_test.lua:7: assert.equals failed"))
        #expect(out.stdout.contains("expected: 5"))
        #expect(out.stdout.contains("actual:   4"))
        #expect(out.stdout.contains("stack traceback:"))
        #expect(out.stdout.contains("✘ calc › spins"))
        #expect(out.stdout.contains("deadline of 300 ms exceeded"))
        #expect(out.stdout.contains("1 passed, 2 failed, 1 pending, in 1 file"))
        let filtered = try LoomProcess.run(["test", skills, "--filter", "adds"])
        #expect(filtered.stdout.contains("1 passed, 1 failed, 0 pending"))
    }

    @Test("TAP and JUnit output are well-formed")
    func reports() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let skills = try failing(root)
        let junit = root.appendingPathComponent("junit.xml").path
        let out = try LoomProcess.run(["test", skills, "--timeout", "0.3", "--tap", "--junit", junit])
        #expect(out.status == 1)
        let lines = out.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "TAP version 13")
        #expect(lines.dropFirst().first == "1..4")
        let results = lines.filter { $0.hasPrefix("ok ") || $0.hasPrefix("not ok ") }
        #expect(results == ["ok 1 - calc › adds", "not ok 2 - calc › adds wrong", "ok 3 - calc › divides # SKIP pending", "not ok 4 - calc › spins"])
        #expect(lines.contains("  at: \"\(skills)/calc/calc_test.lua:7\""))

        final class Counter: NSObject, XMLParserDelegate {
            var cases = 0, failures = 0, skipped = 0
            var suiteAttributes: [String: String] = [:]
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                switch name {
                case "testcase": cases += 1
                case "failure": failures += 1
                case "skipped": skipped += 1
                case "testsuite": suiteAttributes = attributes
                default: break
                }
            }
        }
        let parser = try #require(XMLParser(contentsOf: URL(fileURLWithPath: junit)))
        let counter = Counter()
        parser.delegate = counter
        #expect(parser.parse(), "the JUnit report is not well-formed XML")
        #expect(counter.cases == 4)
        #expect(counter.failures == 2)
        #expect(counter.skipped == 1)
        #expect(counter.suiteAttributes["tests"] == "4")
        #expect(counter.suiteAttributes["failures"] == "2")
    }

    @Test("bad input: a syntax error, an error in before_each, no test files")
    func badInput() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("t")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "describe(\"x\", function()\n  it(\"y\", function()\n    assert.equals(1,\n  end)\nend)\n"
            .write(to: dir.appendingPathComponent("syntax_test.lua"), atomically: true, encoding: .utf8)
        try "describe(\"hooks\", function()\n  before_each(function()\n    error(\"setup broke\")\n  end)\n  it(\"runs\", function() end)\nend)\n"
            .write(to: dir.appendingPathComponent("hook_test.lua"), atomically: true, encoding: .utf8)
        let out = try LoomProcess.run(["test", dir.path])
        #expect(out.status == 1)
        #expect(out.stdout.contains("syntax_test.lua:4: unexpected symbol near 'end'"), "\(out.stdout)")
        #expect(out.stdout.contains("✘ hooks › runs"))
        #expect(out.stdout.contains("hook_test.lua:3: setup broke"))
        let none = try LoomProcess.run(["test", root.appendingPathComponent("empty").path])
        #expect(none.status == 1)
        #expect(none.stderr.contains("does not exist"))
    }

    @Test("loom stubs writes definition files that compile")
    func stubs() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = try LoomProcess.run(["stubs", "--out", root.path, LoomProcess.packageRoot.appendingPathComponent("Skills").path])
        #expect(out.status == 0, "\(out.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
        #expect(files == ["loom-test.lua", "loom.lua", "skill-audit.lua", "skill-flows.lua"])
        let flows = try String(contentsOf: root.appendingPathComponent("skill-flows.lua"), encoding: .utf8)
        #expect(flows.contains("function M.parallel(agents, task, opts) end"))
        for f in files {
            let check = try LoomProcess.run(["eval", root.appendingPathComponent(f).path])
            #expect(check.status == 0, "\(f): \(check.stderr)")
        }
    }
}
