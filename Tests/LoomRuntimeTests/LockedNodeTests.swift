import Foundation
import LoomCore
@testable import LoomRuntime
import LuaKit
import Testing

/// A node opens through NodePlan: with `locked`, a loom.lock that differs refuses the node, and a
/// reload that would change the lock is refused as any failed reload is.
@Suite struct LockedNodeTests {
    func fixture() throws -> NodeFixture {
        let f = try NodeFixture(nodes: ["n": (parents: [], agents: ["worker": (uses: ["greet@1"], lua: "")],
                                              skills: ["greet": (toml: "name = \"greet\"\nversion = \"1.0.0\"\nprovides = [\"greet@1\"]\n",
                                                                 lua: "return { hello = function() return 's1' end }")])])
        try f.write("n/agents/worker/agent.lua", "local greet = use('greet@1')\nfunction on_task() return greet.hello() end\n")
        try f.write("n/loom.lock", try NodePlan(directory: f.path("n")).currentLock().render())
        return f
    }

    @Test func aLockedNodeRefusesAReloadThatChangesTheLock() async throws {
        let f = try fixture()
        var options = NodeOptions()
        options.locked = true
        let node = try await start(f, options: options)
        #expect(try await node.ask("worker", "x").string == "s1")
        try f.write("n/skills/greet/init.lua", "return { hello = function() return 's2' end }")
        let outcome = await node.reload()
        #expect(outcome.error?.contains("loom.lock would change (--locked)") == true, "\(String(describing: outcome.error))")
        #expect(outcome.error?.contains("greet@1: files changed") == true)
        #expect(try await node.ask("worker", "x").string == "s1")
        await node.shutdown()
        do {
            _ = try Node(directory: f.path("n"), options: options, directory: NodeDirectory())
            Issue.record("a locked node opened with a lock that differs")
        } catch let error as NodePlanError {
            #expect(error.kind == .lockDiffers)
        }
    }

    @Test func withoutLockedAStaleLockOpensAndReloads() async throws {
        let f = try fixture()
        try f.write("n/skills/greet/init.lua", "return { hello = function() return 's2' end }")
        let node = try await start(f)
        #expect(try await node.ask("worker", "x").string == "s2")
        try f.write("n/skills/greet/init.lua", "return { hello = function() return 's3' end }")
        #expect(await node.reload().error == nil)
        #expect(try await node.ask("worker", "x").string == "s3")
        await node.shutdown()
    }
}
