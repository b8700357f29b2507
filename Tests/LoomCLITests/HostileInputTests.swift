import Foundation
import Testing

/// Hostile files, folders, paths and numbers through the real `loom`: a crash (SIGILL, SIGSEGV)
/// is an observed failure here, not a crashed test process.
@Suite("Hostile input through loom")
struct HostileInputTests {
    /// Fails unless the process ended by exiting (not by a signal) with `status`.
    func expectExit(_ r: LoomProcess.Output, _ status: Int32, _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, "\(comment) status \(r.status)\nstdout: \(r.stdout.prefix(2000))\nstderr: \(r.stderr.prefix(2000))",
                sourceLocation: sourceLocation)
    }

    @Test("one-letter file and folder names: loom test, check, lineage", .timeLimit(.minutes(1)))
    func oneLetterNames() throws {
        let root = try LoomProcess.tree([
            "t/x": "", "t/y/z": "", "t/a_test.lua": "describe(\"d\", function() it(\"i\", function() end) end)\n",
            "n/node.toml": "name = \"n\"\nparents = [\"p\"]\n",
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let test = try LoomProcess.run(["test", "t"], in: root)
        expectExit(test, 0, "loom test t")
        #expect(test.stdout.contains("1 passed"))
        let single = try LoomProcess.run(["test", "x"], in: root.appendingPathComponent("t"))
        #expect(single.status == 0 || single.status == 1, "loom test x: \(single.status) \(single.stderr)")
        let lineage = try LoomProcess.run(["lineage", "n"], in: root)
        expectExit(lineage, 1, "loom lineage n")
        #expect(lineage.stderr.contains("names parent 'p', which was not found"))
        expectExit(try LoomProcess.run(["check", "t"], in: root), 0, "loom check t")
        expectExit(try LoomProcess.run(["why", "n", "x@1"], in: root), 1, "loom why n")
    }

    @Test("version ranges at Int.max: check, lineage, why and resolve do not crash", .timeLimit(.minutes(1)))
    func rangesAtIntMax() throws {
        let max = "9223372036854775807"
        let root = try LoomProcess.tree([
            "n/node.toml": "name = \"n\"\n",
            "n/skills/s/skill.toml": "name = \"s\"\nversion = \"\(max).0.0\"\nprovides = [\"s@\(max)\"]\n", "n/skills/s/init.lua": "return {}",
            "n/agents/a/agent.toml": "name = \"a\"\nuses = [\"s@\(max) ^\(max)\", \"s@\(max) ~\(max).0\"]\n",
            "n/agents/a/agent.lua": "function on_task(t) return t end",
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let n = root.appendingPathComponent("n").path
        expectExit(try LoomProcess.run(["check", n]), 0, "check")
        expectExit(try LoomProcess.run(["lineage", n]), 0, "lineage")
        let why = try LoomProcess.run(["why", n, "s@\(max)"])
        expectExit(why, 0, "why")
        expectExit(try LoomProcess.run(["resolve", n]), 0, "resolve")
        let huge = try LoomProcess.tree(["n/node.toml": "name = \"n\"\n", "n/agents/a/agent.toml": "name = \"a\"\nuses = [\"s@1 ^9223372036854775808\"]\n",
                                         "n/agents/a/agent.lua": ""])
        defer { try? FileManager.default.removeItem(at: huge) }
        let r = try LoomProcess.run(["check", huge.appendingPathComponent("n").path])
        expectExit(r, 1, "check huge")
        #expect(r.stderr.contains("too large"))
    }

    @Test("loom check names folders where files belong and files where folders belong", .timeLimit(.minutes(1)))
    func fileFolderClash() throws {
        let root = try LoomProcess.tree(["n/node.toml/x": "", "m/node.toml": "name = \"m\"\n", "m/skills": "", "m/agents/a/agent.toml/x": ""])
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try LoomProcess.run(["check", root.path])
        expectExit(r, 1)
        #expect(r.stderr.contains("n/node.toml: error: the node manifest is a folder, not a file"), "\(r.stderr)")
        #expect(r.stderr.contains("agent.toml: error: the agent manifest is a folder, not a file"), "\(r.stderr)")
        #expect(!r.stderr.contains("NSCocoaErrorDomain"))
        let lineage = try LoomProcess.run(["lineage", root.appendingPathComponent("m").path])
        expectExit(lineage, 1)
        #expect(lineage.stderr.contains("skills 'skills' is a file, not a folder"), "\(lineage.stderr)")
        let notNode = try LoomProcess.run(["lineage", root.appendingPathComponent("n").path])
        expectExit(notNode, 1)
        #expect(notNode.stderr.contains("is a folder, not a file"), "\(notNode.stderr)")
    }

    @Test("invalid UTF-8 and NUL in manifests are refused with positions", .timeLimit(.minutes(1)))
    func encoding() throws {
        let root = try LoomProcess.tree([:])
        defer { try? FileManager.default.removeItem(at: root) }
        let bad = root.appendingPathComponent("n")
        try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: true)
        try Data(Array("name = \"n".utf8) + [0xFF, 0x22, 0x0A]).write(to: bad.appendingPathComponent("node.toml"))
        let r = try LoomProcess.run(["check", bad.path])
        expectExit(r, 1)
        #expect(r.stderr.contains("node.toml:1:10: error: not valid UTF-8"), "\(r.stderr)")
        try Data(Array("name = \"n\"".utf8) + [0] + Array("x\n".utf8)).write(to: bad.appendingPathComponent("node.toml"))
        let nul = try LoomProcess.run(["lineage", bad.path])
        expectExit(nul, 1)
        #expect(nul.stderr.contains("node.toml:1:11: error: holds a NUL byte"), "\(nul.stderr)")
    }

    @Test("a long lineage and a long cycle through loom lineage (LineageTests has the 100,000-node chain; a debug loom loads a node in about 4 ms)", .timeLimit(.minutes(5)))
    func deepLineage() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let n = 500
        for i in 0...n {
            let dir = root.appendingPathComponent("chain/n\(i)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try "name = \"n\(i)\"\nparents = [\(i == 0 ? "" : "\"n\(i - 1)\"")]\n".write(to: dir.appendingPathComponent("node.toml"), atomically: false, encoding: .utf8)
        }
        let r = try LoomProcess.run(["lineage", root.appendingPathComponent("chain/n\(n)").path, "--json"])
        expectExit(r, 0, "lineage of 500")
        #expect(r.stdout.hasPrefix("{\"order\":[\"n\(n)\",\"n\(n - 1)\""))
        let c = 500
        for i in 0..<c {
            let dir = root.appendingPathComponent("cycle/c\(i)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try "name = \"c\(i)\"\nparents = [\"c\((i + 1) % c)\"]\n".write(to: dir.appendingPathComponent("node.toml"), atomically: false, encoding: .utf8)
        }
        let cycle = try LoomProcess.run(["lineage", root.appendingPathComponent("cycle/c0").path])
        expectExit(cycle, 1, "cycle of 500")
        #expect(cycle.stderr.contains("lineage cycle: c0 -> c1 -> "), "\(cycle.stderr.prefix(500))")
        #expect(cycle.stderr.count < 2000)
    }

    @Test("huge numbers on the command line are usage errors, not traps", arguments: [
        ["test", "--timeout", "1e300", "."], ["test", "--timeout", "inf", "."], ["test", "--timeout", "nan", "."],
        ["run", "n", "--serve", "--timeout", "1e300"], ["run", "n", "--serve", "--timeout", "inf"], ["run", "n", "--serve", "--grace", "nan"],
        ["eval", "x.lua", "--timeout", "1e300"], ["_memory-writer", "n", "--", "-5"],
    ])
    func hugeFlags(arguments: [String]) throws {
        let r = try LoomProcess.run(arguments)
        expectExit(r, 64, arguments.joined(separator: " "))
    }

    @Test("loom memory import refuses 1e300, fractions, negatives and booleans for integers, naming line and field", arguments: [
        ("\"id\": 1e300", "'id'"), ("\"id\": 1.5", "'id'"), ("\"id\": -3", "'id'"), ("\"id\": true", "'id'"),
        ("\"id\": 1, \"use_count\": 1e300", "'use_count'"), ("\"id\": 1, \"use_count\": -1", "'use_count'"),
        ("\"id\": 1, \"derived_from\": 9223372036854775808", "'derived_from'"), ("\"id\": 1, \"last_used\": 1e300", "'last_used'"),
        ("\"id\": 1, \"importance\": 2", "'importance'"), ("\"id\": 1, \"tags\": [1]", "'tags'"),
    ])
    func memoryImport(field: String, name: String) throws {
        let root = try LoomProcess.tree(["n/node.toml": "name = \"n\"\n"])
        defer { try? FileManager.default.removeItem(at: root) }
        let all = ["\"agent\": \"a\"", "\"kind\": \"semantic\"", "\"text\": \"t\"", "\"importance\": 0.5", "\"source_agent\": \"a\"",
                      "\"source_node\": \"n\"", "\"created\": 1"]
        let key = field.split(separator: ",").last!.split(separator: ":").first!.trimmingCharacters(in: .whitespaces)
        let fields = all.filter { !$0.hasPrefix(key + ":") }
        let good = "{\"id\": 7, " + all.joined(separator: ", ") + "}"
        let line = "{" + field + ", " + fields.joined(separator: ", ") + "}"
        let file = root.appendingPathComponent("in.jsonl")
        try (good + "\r\n\n" + line + "\n").write(to: file, atomically: true, encoding: .utf8)
        let r = try LoomProcess.run(["memory", root.appendingPathComponent("n").path, "import", file.path])
        expectExit(r, 1, line)
        #expect(r.stderr.contains("line 3: \(name)"), "\(r.stderr)")
    }
}
