import Foundation
import Testing

/// Scripts written to crash, hang or outgrow the host, run through the real `loom eval` (a crash
/// or a hang shows as a failed test, not a dead test process). Each must end in well under the
/// kill limit, with exit code 1 and an error of the expected kind, or with the expected result.
@Suite("Hostile scripts")
struct HostileScriptTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var source: String
        /// Text the error (standard error) or the result (standard output) must contain.
        var expect: String
        var fails = true
        var memory = 64 << 20
        var timeout = 0.2
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "xpcall handler that loops after the deadline",
             source: "xpcall(function() while true do end end, function(e) while true do end end)",
             expect: "(timeout)"),
        Case(name: "xpcall handler that loops after a plain error",
             source: "xpcall(error, function() while true do end end)",
             expect: "(timeout)"),
        Case(name: "xpcall handler that errors forever",
             source: "while true do xpcall(error, function() error('again') end) end",
             expect: "(timeout)"),
        Case(name: "the environment's iterator given a number",
             source: "local f = pairs(_ENV) return f(1)",
             expect: "table expected"),
        Case(name: "the environment's iterator given a string and a key",
             source: "local f = pairs(_ENV) return f('x', 'y')",
             expect: "table expected"),
        Case(name: "a read-only library's iterator given nonsense",
             source: "local f = pairs(string) return f(1, {})",
             expect: "error:"),
        Case(name: "string.rep of an empty string a huge number of times",
             source: "return #string.rep('', math.maxinteger), #(''):rep(2^62, ''), #string.rep('', 2^62, '')",
             expect: "0\n0\n0", fails: false),
        Case(name: "string.rep with only a separator",
             source: "return #string.rep('', 3, 'ab')",
             expect: "4", fails: false),
        Case(name: "string.rep past the memory cap",
             source: "return string.rep('x', 2^30)",
             expect: "(memory)"),
        Case(name: "coroutines closed inside each other 30,000 deep",
             source: """
                local prev
                for i = 1, 30000 do
                  local p = prev
                  local co = coroutine.create(function()
                    local x <close> = setmetatable({}, {__close = function() if p then assert(coroutine.close(p)) end end})
                    coroutine.yield()
                  end)
                  coroutine.resume(co)
                  prev = co
                end
                local ok, err = coroutine.close(prev)
                return ok, err:match('C stack overflow[^\\n]*')
                """,
             expect: "C stack overflow (coroutines closed inside each other too deeply)", fails: false,
             memory: 512 << 20, timeout: 10),
        Case(name: "a chain of 300,000 `or`s compiled",
             source: "return " + String(repeating: "x or ", count: 300_000) + "1",
             expect: "exceeded while compiling"),
        Case(name: "a chain of 300,000 `and`s loaded from a script",
             source: "return load('return ' .. string.rep('x and ', 300000) .. '1')",
             expect: "(timeout)"),
        Case(name: "a chain of `or`s loaded through a reader function in one piece",
             source: "local s = 'return ' .. string.rep('x or ', 300000) .. '1' local done = false "
                + "return load(function() if done then return nil end done = true return s end)",
             expect: "(timeout)"),
        Case(name: "a result that is a DAG of shared tables",
             source: "local t = {} for i = 1, 60 do t = {t, t} end return t",
             expect: "too large to copy"),
        Case(name: "a result that repeats one large string",
             source: "local s = ('x'):rep(1 << 20) local t = {} for i = 1, 1000 do t[i] = s end return t",
             expect: "too large to copy"),
    ]

    @Test("ends with the expected error or result", arguments: cases)
    func hostile(_ c: Case) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString).lua")
        try c.source.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let (output, timedOut, seconds) = try LoomProcess.run(
            ["eval", "--timeout", String(c.timeout), "--memory", String(c.memory), file.path], killAfter: 20)
        #expect(!timedOut, "still running after \(seconds) s")
        #expect(output.status >= 0, "killed by signal \(-output.status): \(output.stderr.prefix(300))")
        #expect(seconds < c.timeout + 8, "took \(seconds) s")
        if c.fails {
            #expect(output.status == 1, "exit \(output.status): \(output.stdout.prefix(200)) \(output.stderr.prefix(300))")
            #expect(output.stderr.contains(c.expect), "stderr: \(output.stderr.prefix(400))")
        } else {
            #expect(output.status == 0, "exit \(output.status): \(output.stderr.prefix(300))")
            #expect((output.stdout + output.stderr).contains(c.expect), "stdout: \(output.stdout.prefix(300)) stderr: \(output.stderr.prefix(300))")
        }
    }

    @Test("loom check stops compiling a long `or` chain at its limit")
    func checkCompileLimit() throws {
        let root = try LoomProcess.tree([
            "node.toml": "name = \"hostile\"\n",
            "skills/chain/skill.toml": """
                name = "chain"
                version = "1.0.0"
                description = "A chain"
                provides = ["chain@1"]
                """,
            "skills/chain/init.lua": "return " + String(repeating: "x or ", count: 300_000) + "1\n",
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let (output, timedOut, seconds) = try LoomProcess.run(["check", root.path], killAfter: 30)
        #expect(!timedOut, "still running after \(seconds) s")
        #expect(seconds < 10, "took \(seconds) s")
        #expect(output.status != 0)
        #expect(output.stderr.contains("init.lua") || output.stdout.contains("init.lua"), "\(output.stdout) \(output.stderr)")
    }
}
