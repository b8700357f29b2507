import Foundation
import Testing

@Suite("loom.lock in run, and unimplemented capabilities in check")
struct NodePlanCommandTests {
    /// A node whose agent `hello` uses greet@1 from its own skill.
    func greeter() throws -> URL {
        try LoomProcess.tree([
            "n/node.toml": "name = \"n\"\n",
            "n/skills/greet/skill.toml": "name = \"greet\"\nversion = \"1.0.0\"\nprovides = [\"greet@1\"]\n",
            "n/skills/greet/init.lua": "return { hello = function(who) return \"hello \" .. who end }\n",
            "n/agents/hello/agent.toml": "name = \"hello\"\nuses = [\"greet@1\"]\n",
            "n/agents/hello/agent.lua": "local greet = use(\"greet@1\")\nfunction on_task(t) return greet.hello(t) end\n",
        ]).appendingPathComponent("n")
    }

    @Test("loom run --locked fails naming the difference, with resolve --locked's exit code; without --locked it warns and runs")
    func runLocked() throws {
        let node = try greeter()
        defer { try? FileManager.default.removeItem(at: node.deletingLastPathComponent()) }
        let lock = node.appendingPathComponent("loom.lock")
        let missing = try LoomProcess.run(["run", node.path, "--locked", "--task", "x", "--to", "hello"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("loom.lock does not exist (--locked)"), "\(missing.stderr)")
        #expect(try LoomProcess.run(["resolve", node.path]).status == 0)
        let fresh = try LoomProcess.run(["run", node.path, "--locked", "--task", "loom", "--to", "hello"])
        #expect(fresh.status == 0, "\(fresh.stderr)")
        #expect(fresh.stdout == "hello loom\n")
        let bytes = try Data(contentsOf: lock)

        try "return { hello = function(who) return \"hi \" .. who end }\n"
            .write(to: node.appendingPathComponent("skills/greet/init.lua"), atomically: true, encoding: .utf8)
        let resolve = try LoomProcess.run(["resolve", node.path, "--locked"])
        let run = try LoomProcess.run(["run", node.path, "--locked", "--task", "loom", "--to", "hello"])
        #expect(run.status == resolve.status)
        #expect(run.status == 1)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains("error: loom.lock would change (--locked):\n  - greet@1: files changed"), "\(run.stderr)")

        // Without --locked: the stale entry is not used, a warning names it, and the lock is not written.
        let loose = try LoomProcess.run(["run", node.path, "--task", "loom", "--to", "hello"])
        #expect(loose.status == 0, "\(loose.stderr)")
        #expect(loose.stdout == "hi loom\n")
        #expect(loose.stderr.contains("loom.lock is out of date"), "\(loose.stderr)")
        #expect(loose.stderr.contains("greet@1: files changed"))
        #expect(try Data(contentsOf: lock) == bytes)

        // loom test --locked: the test's node does not load.
        try FileManager.default.createDirectory(at: node.appendingPathComponent("tests"), withIntermediateDirectories: true)
        try "describe(\"greet\", function() it(\"runs\", function() end) end)\n"
            .write(to: node.appendingPathComponent("tests/greet.lua"), atomically: true, encoding: .utf8)
        #expect(try LoomProcess.run(["test", node.path]).status == 0)
        let test = try LoomProcess.run(["test", node.path, "--locked"])
        #expect(test.status == 1)
        #expect((test.stdout + test.stderr).contains("greet@1: files changed"), "\(test.stdout)\(test.stderr)")

        // loom audit --locked: the audit node does not open.
        let audit = try LoomProcess.run(["audit", node.appendingPathComponent("tests").path, "--node", node.path, "--locked"])
        #expect(audit.status == 1)
        #expect(audit.stderr.contains("error: loom.lock would change (--locked):\n  - greet@1: files changed"), "\(audit.stderr)")

        // A capability added since the lock: named too.
        try "name = \"hello\"\nuses = [\"greet@1\", \"clock@1\", \"extra@1\"]\n"
            .write(to: node.appendingPathComponent("agents/hello/agent.toml"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: node.appendingPathComponent("skills/extra"), withIntermediateDirectories: true)
        try "name = \"extra\"\nversion = \"1.0.0\"\nprovides = [\"extra@1\"]\n"
            .write(to: node.appendingPathComponent("skills/extra/skill.toml"), atomically: true, encoding: .utf8)
        try "return {}\n".write(to: node.appendingPathComponent("skills/extra/init.lua"), atomically: true, encoding: .utf8)
        let added = try LoomProcess.run(["run", node.path, "--locked", "--task", "loom", "--to", "hello"])
        #expect(added.status == 1)
        #expect(added.stderr.contains("extra@1: new, extra 1.0.0 from n"), "\(added.stderr)")
    }

    @Test("loom check on a node whose agent uses net.http@1 fails naming it; loom run refuses it before starting")
    func checkUnimplemented() throws {
        let root = try LoomProcess.tree([
            "n/node.toml": "name = \"n\"\n",
            "n/agents/fetcher/agent.toml": "name = \"fetcher\"\nuses = [\"net.http@1\", \"log@1\"]\n",
            "n/agents/fetcher/agent.lua": "function on_task(t) return use(\"net.http@1\").get(t) end\n",
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let node = root.appendingPathComponent("n")
        let check = try LoomProcess.run(["check", node.path])
        #expect(check.status == 1)
        let agentToml = node.appendingPathComponent("agents/fetcher/agent.toml").path
        #expect(check.stderr.contains("\(agentToml): error: agent 'fetcher' requires net.http@1"), "\(check.stderr)")
        #expect(check.stderr.contains("which is not implemented by this version of Loom"))
        let run = try LoomProcess.run(["run", node.path, "--task", "x", "--to", "fetcher"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("requires net.http@1 (\(agentToml)), which is not implemented by this version of Loom"), "\(run.stderr)")
    }
}
