import Foundation
import LoomCore

/// What `loom init` and `loom new` write: a node, a skill, an agent, each with a test that passes
/// as created.
public enum Scaffold: Sendable {
    public struct ScaffoldError: Error, Sendable, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }

    static func write(_ files: [String: String], in folder: String) throws {
        for (path, text) in files.sorted(by: { $0.key < $1.key }) {
            let full = Paths.join(folder, path)
            try FileManager.default.createDirectory(atPath: Paths.parent(full), withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
    }

    static func checkFree(_ folder: String) throws {
        if FileManager.default.fileExists(atPath: folder) {
            throw ScaffoldError("\(folder) exists already; choose another name or remove it")
        }
    }

    /// A new skill folder `NAME` providing `NAME@1`, with a function and its test.
    public static func skill(_ name: String, in skillsFolder: String) throws -> String {
        guard Names.isDotted(name) else {
            throw ScaffoldError("'\(name)' is not a skill name: lowercase words of letters, digits and hyphens, separated by dots (text.scan)")
        }
        let folder = Paths.join(skillsFolder, name)
        try checkFree(folder)
        let file = name.replacingOccurrences(of: ".", with: "_").replacingOccurrences(of: "-", with: "_")
        try write([
            "skill.toml": """
                name = "\(name)"
                version = "0.1.0"
                description = "What \(name) does, in one line"
                provides = ["\(name)@1"]
                requires = []
                permissions = []

                """,
            "init.lua": """
                -- \(name)@1
                local M = {}

                --- Greets `who`.
                ---@param who string
                ---@return string
                function M.greet(who)
                  return "hello, " .. who
                end

                return M

                """,
            "\(file)_test.lua": """
                local skill = use("\(name)@1")

                describe("\(name)", function()
                  it("greets", function()
                    assert.equals("hello, Ada", skill.greet("Ada"))
                  end)
                end)

                """,
        ], in: folder)
        return folder
    }

    /// A new agent folder `NAME` with a handler and its test.
    public static func agent(_ name: String, in agentsFolder: String) throws -> String {
        guard Names.isSimple(name) else {
            throw ScaffoldError("'\(name)' is not an agent name: one lowercase word of letters, digits and hyphens, starting with a letter (security-auditor)")
        }
        let folder = Paths.join(agentsFolder, name)
        try checkFree(folder)
        let file = name.replacingOccurrences(of: "-", with: "_")
        try write([
            "agent.toml": """
                name = "\(name)"
                domain = "general"
                description = "What \(name) does, in one line"
                uses = ["log@1"]

                """,
            "agent.lua": """
                -- \(name): counts the tasks it has seen, and echoes each one.

                function on_task(task)
                  state.seen = (state.seen or 0) + 1
                  log.info("task", state.seen)
                  return {echo = task, seen = state.seen}
                end

                """,
            "\(file)_test.lua": """
                describe("\(name)", function()
                  it("echoes a task and counts it", function()
                    local first = ask("\(name)", "ping")
                    assert.same({echo = "ping", seen = 1}, first)
                    assert.equals(2, ask("\(name)", "pong").seen)
                  end)
                end)

                """,
        ], in: folder)
        return folder
    }

    /// A new node: node.toml, an example skill and agent (each with a test), `.luarc.json` and
    /// `.luacheckrc` pointing at the stubs in `.loom/stubs`, which it writes.
    public static func node(at folder: String) throws {
        let name = (URL(fileURLWithPath: folder).standardizedFileURL.lastPathComponent)
        guard Names.isSimple(name) else {
            throw ScaffoldError("'\(name)' is not a node name: one lowercase word of letters, digits and hyphens (the folder's name is the node's)")
        }
        if FileManager.default.fileExists(atPath: Paths.join(folder, "node.toml")) {
            throw ScaffoldError("\(folder) is a node already (it has a node.toml)")
        }
        try write([
            "node.toml": """
                # \(name): a Loom node. docs/formats.md describes every key.
                name = "\(name)"
                parents = []
                skills = ["skills"]
                agents = "agents"

                """,
            ".luarc.json": """
                {
                  "runtime.version": "Lua 5.4",
                  "workspace.library": [".loom/stubs"],
                  "diagnostics.globals": ["on_task", "on_message", "on_start", "migrate", "version"]
                }

                """,
            ".luacheckrc": luacheckrc,
        ], in: folder)
        _ = try skill("greeting", in: Paths.join(folder, "skills"))
        let agentFolder = try agent("greeter", in: Paths.join(folder, "agents"))
        try """
            name = "greeter"
            domain = "general"
            description = "Greets whoever it is asked to, with the greeting skill"
            uses = ["greeting@1", "log@1"]

            """.write(toFile: agentFolder + "/agent.toml", atomically: true, encoding: .utf8)
        try """
            -- greeter: greets the name it is asked about, and counts the greetings.
            local greeting = use("greeting@1")

            function on_task(name)
              state.greeted = (state.greeted or 0) + 1
              log.info("greeting", name)
              return greeting.greet(tostring(name))
            end

            """.write(toFile: agentFolder + "/agent.lua", atomically: true, encoding: .utf8)
        try """
            describe("greeter", function()
              it("greets with the greeting skill", function()
                assert.equals("hello, Ada", ask("greeter", "Ada"))
              end)
            end)

            """.write(toFile: agentFolder + "/greeter_test.lua", atomically: true, encoding: .utf8)
        try writeStubs(to: Paths.join(folder, ".loom/stubs"), skillFolders: [Paths.join(folder, "skills")])
    }

    /// The LuaLS stubs of the host API and of the skills under the given folders.
    @discardableResult
    public static func writeStubs(to folder: String, skillFolders: [String]) throws -> [String] {
        var skills: [SkillStub] = []
        for dir in skillFolders {
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
                let skillDir = Paths.join(dir, name)
                guard let m = try? SkillManifest.load(directory: skillDir),
                      let source = try? String(contentsOfFile: Paths.join(skillDir, m.entry), encoding: .utf8) else { continue }
                skills.append(SkillStub(name: m.name, capabilities: m.provides.map(\.key), source: source))
            }
        }
        let files = HostAPI.stubs(skills: skills)
        try write(files, in: folder)
        return files.keys.sorted().map { Paths.join(folder, $0) }
    }

    /// A luacheck configuration that knows Loom's globals.
    public static let luacheckrc = """
        -- luacheck configuration for Loom scripts: Lua 5.4 and the host API (docs/lua-api.md).
        std = "lua54"
        max_line_length = 140
        -- Behaviours define their handlers as globals; the host provides the rest.
        globals = {"on_task", "on_message", "on_start", "migrate", "version", "state"}
        read_globals = {
          "self", "send", "ask", "ask_all", "sleep", "now", "use", "log", "memory", "fs", "super",
          "describe", "it", "pending", "before_each", "after_each", "assert",
        }

        """
}
