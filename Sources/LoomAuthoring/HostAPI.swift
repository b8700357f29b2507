import Foundation

/// The host API as Lua sees it, described once. `loom stubs` writes LuaLS definition files from it,
/// and the reference in `docs/lua-api.md` is generated from it (a test checks both against the
/// functions a node really registers, and the document against this text).
public enum HostAPI: Sendable {
    public struct Parameter: Sendable {
        public var name: String
        public var type: String
        public var doc: String
    }

    public struct Function: Sendable {
        /// `send`, or `memory.recall` for a function in a host table.
        public var name: String
        public var parameters: [Parameter]
        /// LuaLS return types, each with a note.
        public var returns: [(type: String, doc: String)]
        public var doc: String
    }

    /// A host table: its global name (as skills see it), the capability agents `use`, and who gets it.
    public struct Table: Sendable {
        public var name: String
        public var capability: String?
        public var doc: String
    }

    static func p(_ name: String, _ type: String, _ doc: String = "") -> Parameter { Parameter(name: name, type: type, doc: doc) }

    public static let tables: [Table] = [
        Table(name: "log", capability: "log@1", doc: "Logging through swift-log, with node and agent metadata (agents; skills with `log`)."),
        Table(name: "memory", capability: "memory@1", doc: "The running agent's memory (agents that use `memory@1`; skills with `memory`)."),
        Table(name: "fs", capability: "fs.read@1", doc: "Read-only files under the roots the node grants (agents that use `fs.read@1`; skills with `fs.read`)."),
    ]

    public static let functions: [Function] = [
        Function(name: "send", parameters: [p("to", "string", "`agent`, `kind:id`, `node/agent` or `$host`"), p("msg", "any", "copied")],
                 returns: [("true|nil", "true when queued"), ("string?", "why not")], doc: "Sends a copy of `msg` without waiting."),
        Function(name: "ask", parameters: [p("to", "string"), p("task", "any", "copied"), p("opts", "{timeout: number}?", "default 5 s")],
                 returns: [("any", "the reply, or nil"), ("string?", "the error")], doc: "Sends `task` and waits for the reply."),
        Function(name: "ask_all", parameters: [p("requests", "{to: string, task: any}[]"), p("opts", "{timeout: number}?")],
                 returns: [("{ok: boolean, value: any, error: string?}[]", "in the order of `requests`")], doc: "Asks several agents at once and waits for every reply."),
        Function(name: "sleep", parameters: [p("seconds", "number")], returns: [], doc: "Waits without blocking the node."),
        Function(name: "now", parameters: [], returns: [("number", "seconds since the Unix epoch")], doc: "The current time."),
        Function(name: "use", parameters: [p("capability", "string", "`name@MAJOR`, declared in the manifest")],
                 returns: [("table", "the serving skill's module or host table")], doc: "The module serving a capability."),
        Function(name: "log.info", parameters: [p("...", "any")], returns: [], doc: "Logs at info level."),
        Function(name: "log.warn", parameters: [p("...", "any")], returns: [], doc: "Logs at warning level."),
        Function(name: "log.error", parameters: [p("...", "any")], returns: [], doc: "Logs at error level."),
        Function(name: "memory.remember",
                 parameters: [p("text", "string", "1 byte to 64 KiB"),
                              p("opts", "{kind: \"episodic\"|\"semantic\"|\"procedural\", tags: string[], importance: number, outcome: \"worked\"|\"failed\", task: string, expires: number}?")],
                 returns: [("integer", "the memory's id")], doc: "Stores a memory."),
        Function(name: "memory.recall",
                 parameters: [p("query", "string?"), p("opts", "{k: integer, kind: string, tags: string[], since: number, commons: boolean}?")],
                 returns: [("{id: integer, text: string, score: number, kind: string, importance: number, created: number, tags: string[], outcome: string?, task: string?, author: string?}[]", "best first")],
                 doc: "Ranked recall of the agent's memories (and the commons)."),
        Function(name: "memory.forget", parameters: [p("id", "integer")], returns: [("boolean", "whether it existed")], doc: "Deletes one of the agent's memories."),
        Function(name: "memory.learn", parameters: [p("task", "string"), p("outcome", "\"worked\"|\"failed\""), p("notes", "string?")],
                 returns: [("integer", "the memory's id")], doc: "Records what worked or failed for a task key."),
        Function(name: "memory.lessons", parameters: [p("task", "string")],
                 returns: [("{worked: {id: integer, text: string, created: number}[], failed: {id: integer, text: string, created: number}[]}", "newest first")],
                 doc: "What worked and what failed for a task key."),
        Function(name: "memory.share", parameters: [p("id", "integer")], returns: [("integer", "the commons entry's id")], doc: "Publishes a memory to the node commons."),
        Function(name: "memory.consolidate", parameters: [],
                 returns: [("{expired: integer, merged: integer, folded: integer, summaries: integer}", "what happened")], doc: "Consolidates the agent's memories now."),
        Function(name: "fs.roots", parameters: [], returns: [("string[]", "sorted")], doc: "The granted root names."),
        Function(name: "fs.list", parameters: [p("path", "string", "`ROOT/relative`")],
                 returns: [("{path: string, size: integer}[]|nil", "sorted by path"), ("string?", "why not")], doc: "Every file under a folder, ignored files left out."),
        Function(name: "fs.read", parameters: [p("path", "string")], returns: [("string|nil", "the bytes"), ("string?", "why not")], doc: "A file's content (at most 8 MiB)."),
        Function(name: "fs.stat", parameters: [p("path", "string")],
                 returns: [("{kind: \"file\"|\"folder\"|\"other\", size: integer, modified: number}|nil", ""), ("string?", "why not")], doc: "A path's kind, size and time."),
        Function(name: "fs.hash", parameters: [p("path", "string")], returns: [("string|nil", "hex SHA-256"), ("string?", "why not")], doc: "The SHA-256 of a file's content."),
    ]

    /// Globals that are values, not functions.
    public static let values: [(name: String, type: String, doc: String)] = [
        ("state", "table", "The agent's own table, persisted."),
        ("self", "{name: string, kind: string, domain: string, node: string}", "Who the agent is."),
        ("super", "table", "In a skill that extends another: the module it extends."),
    ]

    /// The handlers a behaviour may define.
    public static let handlers: [(name: String, signature: String, doc: String)] = [
        ("on_start", "fun()", "Runs each time the agent becomes active."),
        ("on_task", "fun(task: any, from: string): any", "Handles an ask; its return value is the reply."),
        ("on_message", "fun(msg: any, from: string)", "Handles a send."),
        ("migrate", "fun(old_state: table, from_version: any): table?", "Runs after a hot reload changed the agent's code."),
    ]

    // MARK: LuaLS stubs

    private static func signature(_ f: Function) -> String {
        "\(f.name)(" + f.parameters.map(\.name).joined(separator: ", ") + ")"
    }

    private static func annotations(_ f: Function) -> String {
        var out = "---\(f.doc)\n"
        for param in f.parameters {
            let optional = param.type.hasSuffix("?")
            let type = optional ? String(param.type.dropLast()) : param.type
            let name = param.name == "..." ? "..." : param.name + (optional ? "?" : "")
            out += "---@param \(name) \(type)\(param.doc.isEmpty ? "" : " " + param.doc)\n"
        }
        for r in f.returns { out += "---@return \(r.type)\(r.doc.isEmpty ? "" : " # " + r.doc)\n" }
        return out
    }

    /// LuaLS `---@meta` files for the host API: file name -> text. `skills` adds a class per skill
    /// module and the typed overloads of `use`.
    public static func stubs(skills: [SkillStub] = []) -> [String: String] {
        var host = "---@meta\n-- Loom's host API (generated by `loom stubs`; do not edit).\n\n"
        for v in values { host += "---\(v.doc)\n---@type \(v.type)\n\(v.name) = {}\n\n" }
        for h in handlers { host += "---\(h.doc)\n---@type \(h.signature)\n\(h.name) = nil\n\n" }
        for t in tables {
            host += "---\(t.doc)\n---@class loom.\(t.name)\n\(t.name) = {}\n\n"
        }
        for f in functions {
            if f.name == "use" {
                host += "---\(f.doc)\n"
                for t in tables { if let cap = t.capability { host += "---@overload fun(capability: \"\(cap)\"): loom.\(t.name)\n" } }
                for s in skills { for cap in s.capabilities { host += "---@overload fun(capability: \"\(cap)\"): \(s.className)\n" } }
                host += "---@param capability string\n---@return table\nfunction use(capability) end\n\n"
                continue
            }
            host += annotations(f) + "function \(signature(f)) end\n\n"
        }
        var files = ["loom.lua": host, "loom-test.lua": testStub]
        for s in skills { files["skill-\(s.name).lua"] = s.stub }
        return files
    }

    /// What `loom test` adds for test files.
    static let testStub = """
        ---@meta
        -- The test API of `loom test` (busted's), generated by `loom stubs`; do not edit.

        ---@param name string
        ---@param body fun()
        function describe(name, body) end
        ---@param name string
        ---@param body fun()
        function it(name, body) end
        ---@param name string
        ---@param body fun()?
        function pending(name, body) end
        ---@param body fun()
        function before_each(body) end
        ---@param body fun()
        function after_each(body) end

        ---@class loom.assert
        assert = {}
        ---@param expected any
        ---@param actual any
        function assert.equals(expected, actual) end
        ---Deep equality of tables.
        ---@param expected any
        ---@param actual any
        function assert.same(expected, actual) end
        ---@param value any
        function assert.truthy(value) end
        ---@param value any
        function assert.falsy(value) end
        ---Passes when `fn` raises; `message`, when given, must occur in the error.
        ---@param fn fun()
        ---@param message string?
        function assert.error(fn, message) end
        ---@param pattern string
        ---@param text string
        function assert.matches(pattern, text) end

        """

    // MARK: The reference in docs/lua-api.md

    public static let markdownBegin = "<!-- host API reference: generated from Sources/LoomAuthoring/HostAPI.swift by `loom stubs --markdown` -->"
    public static let markdownEnd = "<!-- end of the generated reference -->"

    public static var markdown: String {
        var out = markdownBegin + "\n\n| function | returns | what it does |\n| --- | --- | --- |\n"
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
        for f in functions {
            let params = f.parameters.map { "\($0.name): \(cell($0.type))" }.joined(separator: ", ")
            let returns = f.returns.isEmpty ? "—" : f.returns.map { cell($0.type) }.joined(separator: ", ")
            out += "| `\(f.name)(\(params))` | `\(returns)` | \(f.doc) |\n"
        }
        out += "\n| global | type | what it is |\n| --- | --- | --- |\n"
        for v in values { out += "| `\(v.name)` | `\(cell(v.type))` | \(v.doc) |\n" }
        for h in handlers { out += "| `\(h.name)` | `\(cell(h.signature))` | \(h.doc) |\n" }
        return out + "\n" + markdownEnd
    }
}

/// A skill's exported functions, for its stub: read from the `---@` annotations before each
/// `function M.name(...)` in its entry file.
public struct SkillStub: Sendable {
    public var name: String
    public var capabilities: [String]
    public var stub: String
    public var className: String { "skill." + name }

    public init(name: String, capabilities: [String], source: String) {
        self.name = name
        self.capabilities = capabilities
        let cls = "skill." + name
        var out = "---@meta\n-- The module of skill \(name) (generated by `loom stubs` from its annotations; do not edit).\n\n---@class \(cls)\nlocal M = {}\n\n"
        var pending: [String] = []
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("---") {
                pending.append(String(trimmed))
                continue
            }
            if let header = Self.exported(String(trimmed)) {
                out += pending.joined(separator: "\n") + (pending.isEmpty ? "" : "\n") + "function M.\(header) end\n\n"
            }
            pending = []
        }
        stub = out + "return M\n"
    }

    /// `name(args)` of `function X.name(args)` or `function X:name(args)` at the start of a line.
    static func exported(_ line: String) -> String? {
        guard line.hasPrefix("function "), let dot = line.firstIndex(where: { $0 == "." || $0 == ":" }),
              let close = line.firstIndex(of: ")"), dot < close else { return nil }
        let head = line[line.index(line.startIndex, offsetBy: 9)..<dot]
        guard !head.isEmpty, head.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
        return String(line[line.index(after: dot)...close])
    }
}
