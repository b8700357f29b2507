import Foundation
@testable import LoomRuntime
import LuaKit
import Testing

/// The flows@1 skill (Skills/flows), run by real agents.
@Suite("flows@1")
struct FlowsTests {
    static let skills = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Skills").path

    /// A node whose `chair` runs `chairLua` with flows, and voters answering from a fixed table.
    static func council(chair: String, voters: [String: String]) throws -> NodeFixture {
        var agents: [String: (uses: [String], lua: String)] = ["chair": (uses: ["flows@1"], lua: chair)]
        for (name, body) in voters { agents[name] = (uses: [], lua: body) }
        let f = try NodeFixture(nodes: ["n": (parents: [], agents: agents, skills: [:])])
        try f.write("n/node.toml", "name = \"n\"\nskills = [\"skills\", \"\(skills)\"]\n")
        return f
    }

    static func voter(_ choice: String) -> String { "function on_task(p) return \(choice) end" }

    @Test("parallel: results and errors per agent, with a timeout")
    func parallel() async throws {
        let f = try Self.council(chair: """
            local flows = use("flows@1")
            function on_task() return flows.parallel({"a", "b", "slow", "ghost"}, 2, {timeout = 0.2}) end
            """, voters: ["a": "function on_task(x) return x * 10 end", "b": "function on_task(x) error('no') end",
                          "slow": "function on_task(x) sleep(2) return x end"])
        let node = try await start(f)
        let r = try await node.ask("chair", .nil).table?.array ?? []
        #expect(r.count == 4)
        #expect(r[0].table?["value"] == 20)
        #expect(r[0].table?["ok"] == true)
        #expect(r[1].table?["ok"] == false)
        #expect(r[1].table?["error"].string?.contains("no") == true)
        #expect(r[2].table?["error"] == "timeout")
        #expect(r[3].table?["error"].string?.contains("no agent 'ghost'") == true)
        await node.shutdown()
    }

    @Test("pipeline: stages in order, and the failing stage named")
    func pipeline() async throws {
        let f = try Self.council(chair: """
            local flows = use("flows@1")
            function on_task(kind)
              if kind == "ok" then
                return flows.pipeline({"upper", function(s) return s .. "!" end, "wrap"}, "loom")
              end
              local v, err = flows.pipeline({"upper", "broken", "wrap"}, "loom")
              return err
            end
            """, voters: ["upper": "function on_task(s) return s:upper() end",
                          "wrap": "function on_task(s) return '[' .. s .. ']' end",
                          "broken": "function on_task() error('bad stage') end"])
        let node = try await start(f)
        #expect(try await node.ask("chair", "ok") == "[LOOM!]")
        let err = try await node.ask("chair", "fail")
        #expect(err.string?.hasPrefix("stage 2 (broken) failed:") == true)
        await node.shutdown()
    }

    @Test("vote: majority with weights and the full tally")
    func voteMajority() async throws {
        let f = try Self.council(chair: """
            local flows = use("flows@1")
            function on_task() return flows.vote({"a", "b", "c"}, "ship?", {weights = {c = 3}}) end
            """, voters: ["a": Self.voter("'yes'"), "b": Self.voter("'yes'"), "c": Self.voter("'no'")])
        let node = try await start(f)
        let r = try await node.ask("chair", .nil).table
        #expect(r?["decision"] == "no")
        #expect(r?["tally"] == ["yes": 2, "no": 3])
        #expect(r?["quorum_met"] == true)
        #expect(r?["votes"] == ["a": "yes", "b": "yes", "c": "no"])
        await node.shutdown()
    }

    @Test("vote: quorum failure is reported as such")
    func voteQuorum() async throws {
        let f = try Self.council(chair: """
            local flows = use("flows@1")
            function on_task() return flows.vote({"a", "b", "c", "d"}, "ship?", {quorum = 0.75}) end
            """, voters: ["a": Self.voter("'yes'"), "b": Self.voter("nil"), "c": "function on_task() error('x') end",
                          "d": Self.voter("'yes'")])
        let node = try await start(f)
        let r = try await node.ask("chair", .nil).table
        #expect(r?["quorum_met"] == false)
        #expect(r?["decision"] == .nil)
        #expect(r?["reason"] == "quorum not met: 50% of the weight voted, 75% needed")
        await node.shutdown()
    }

    @Test("vote: ties without and with a tie-breaker")
    func voteTie() async throws {
        let f = try Self.council(chair: """
            local flows = use("flows@1")
            function on_task(tie) return flows.vote({"a", "b"}, "ship?", {tie = tie}) end
            """, voters: ["a": Self.voter("'yes'"), "b": Self.voter("'no'")])
        let node = try await start(f)
        let none = try await node.ask("chair", "none").table
        #expect(none?["decision"] == .nil)
        #expect(none?["reason"] == "tie")
        #expect(none?["tied"] == ["no", "yes"])
        #expect(try await node.ask("chair", "b").table?["decision"] == "no")
        #expect(try await node.ask("chair", "first").table?["decision"] == "no")
        await node.shutdown()
    }

    @Test("debate: rounds build a transcript, the judge decides")
    func debate() async throws {
        let f = try Self.council(chair: """
            local flows = use("flows@1")
            function on_task(q) return flows.debate({"pro", "con"}, q, {rounds = 2, judge = "judge"}) end
            """, voters: [
                "pro": "function on_task(t) return 'yes (round ' .. t.round .. ', heard ' .. #t.transcript .. ')' end",
                "con": "function on_task(t) return 'no' end",
                "judge": "function on_task(t) return #t.transcript .. ' statements; ' .. t.transcript[1].said end",
            ])
        let node = try await start(f)
        let r = try await node.ask("chair", "ship?").table
        #expect(r?["transcript"].table?.array.count == 4)
        #expect(r?["verdict"] == "4 statements; yes (round 1, heard 0)")
        #expect(r?["transcript"].table?[3].table?["said"] == "yes (round 2, heard 2)")
        await node.shutdown()
    }
}
