import Foundation
@testable import LoomRuntime
import LuaKit
import Synchronization
import Testing

@Suite struct HotReloadTests {
    static let v1 = """
        version = "1.0"
        function on_task(t)
          state.count = (state.count or 0) + 1
          if t == "slow" then sleep(3) end   -- long enough for what a test does meanwhile, on a loaded machine
          return "v1:" .. tostring(t)
        end
        """

    func fixture() throws -> NodeFixture {
        try NodeFixture(nodes: ["n": (parents: [], agents: ["worker": (uses: ["greet@1"], lua: Self.v1)],
                                      skills: ["greet": (toml: "name = \"greet\"\nversion = \"1.0.0\"\nprovides = [\"greet@1\"]\n",
                                                         lua: "return { hello = function() return 's1' end }")])])
    }

    func eventually(_ seconds: Double = 3, _ check: () async throws -> Bool) async throws -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if (try? await check()) == true { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    @Test func aSyntaxErrorKeepsTheOldVersionAndNamesFileAndLine() async throws {
        let f = try fixture()
        let node = try await start(f)
        #expect(try await node.ask("worker", "a").string == "v1:a")
        try f.write("n/agents/worker/agent.lua", "function on_task(t)\n  return 'v2' ..\nend\n")
        let outcome = await node.reload()
        #expect(outcome.error?.contains("agents/worker/agent.lua:3") == true, "\(outcome.error ?? "")")
        #expect(try await node.ask("worker", "b").string == "v1:b")
        // An initialisation error is refused too.
        try f.write("n/agents/worker/agent.lua", "error('broken at load')\n")
        #expect(await node.reload().error?.contains("broken at load") == true)
        #expect(try await node.ask("worker", "c").string == "v1:c")
        await node.shutdown()
    }

    @Test func callsInFlightFinishOnTheOldCodeAndNewCallsTakeTheNew() async throws {
        let f = try fixture()
        let node = try await start(f)
        _ = try await node.ask("worker", "warm")
        async let slow = node.ask("worker", "slow")
        #expect(try await eventually { await node.hasCallInFlight("worker") })
        try f.write("n/agents/worker/agent.lua", "function on_task(t) return 'v2:' .. tostring(t) end\n")
        let outcome = await node.reload()
        #expect(outcome.changed == ["worker"])
        #expect(outcome.deferred == 1)
        #expect(try await node.ask("worker", "fast").string == "v2:fast")
        #expect(try await slow.string == "v1:slow")
        await node.shutdown()
    }

    @Test func aStoppedCallsSleepDoesNotWakeTheNextCall() async throws {
        let f = try fixture()
        try f.write("n/agents/worker/agent.lua", "function on_task(t) sleep(1.5) return 'v1' end\n")
        let node = try await start(f)
        async let first = node.ask("worker", "nap")
        #expect(try await eventually { await node.hasCallInFlight("worker") })
        // Two reloads stop the call asleep on the first version; its sleep's timer stays set.
        try f.write("n/agents/worker/agent.lua", "function on_task(t) sleep(1.5) return 'v2' end\n")
        #expect(await node.reload().deferred == 1)
        try f.write("n/agents/worker/agent.lua", "function on_task(t) sleep(4) return 'v3' end\n")
        #expect(await node.reload().stopped == 1)
        _ = try? await first
        // The next call sleeps 4 s: the stopped call's 1.5 s timer must not end it early.
        let clock = ContinuousClock()
        let began = clock.now
        #expect(try await node.ask("worker", "x", timeout: .seconds(30)).string == "v3")
        #expect(clock.now - began >= .seconds(3.9), "woken after \(clock.now - began)")
        await node.shutdown()
    }

    @Test func aThirdVersionStopsCallsStillOnTheFirst() async throws {
        let f = try fixture()
        let node = try await start(f)
        _ = try await node.ask("worker", "warm")
        async let slow = node.ask("worker", "slow")
        #expect(try await eventually { await node.hasCallInFlight("worker") })
        try f.write("n/agents/worker/agent.lua", "function on_task(t) return 'v2' end\n")
        #expect(await node.reload().deferred == 1)
        try f.write("n/agents/worker/agent.lua", "function on_task(t) return 'v3' end\n")
        let third = await node.reload()
        #expect(third.stopped == 1)
        #expect(third.upgraded == 1)
        do {
            _ = try await slow
            Issue.record("the call on the first version should have been stopped")
        } catch {
            #expect((error as? ReplyError)?.kind == .callStopped)
        }
        #expect(try await node.ask("worker", "x").string == "v3")
        await node.shutdown()
    }

    @Test func aKindRemovedWhileACallRunsRetiresWhenTheCallEnds() async throws {
        let f = try fixture()
        try f.write("n/agents/worker/agent.lua", Self.v1)
        let node = try await start(f)
        _ = try await node.ask("worker", "warm")
        async let slow = node.ask("worker", "slow")
        #expect(try await eventually { await node.hasCallInFlight("worker") })
        try FileManager.default.removeItem(atPath: f.path("n") + "/agents/worker")
        #expect(await node.reload().removed == ["worker"])
        // Retiring: the call in flight finishes on its code; an ask queued behind it is answered
        // that the agent was removed, and afterwards there is no such agent.
        let late = Task { try await node.ask("worker", "late") }
        #expect(try await slow.string == "v1:slow")
        let removed = await #expect(throws: ReplyError.self) { try await late.value }
        #expect(removed?.kind == .removed)
        let gone = await #expect(throws: ReplyError.self) { try await node.ask("worker", "x") }
        #expect(gone?.kind == .noAgent)
        await node.shutdown()
    }

    @Test func aKindRemovedThenAddedBackWhileTheOldCallRunsKeepsTheNewAgent() async throws {
        let f = try fixture()
        let node = try await start(f)
        _ = try await node.ask("worker", "warm")
        async let slow = node.ask("worker", "slow")
        #expect(try await eventually { await node.hasCallInFlight("worker") })
        let folder = f.path("n") + "/agents/worker"
        try FileManager.default.moveItem(atPath: folder, toPath: f.path("away"))
        #expect(await node.reload().removed == ["worker"])
        try FileManager.default.moveItem(atPath: f.path("away"), toPath: folder)
        try f.write("n/agents/worker/agent.lua", "function on_task(t) return 'back:' .. tostring(t) end\n")
        let back = await node.reload()
        #expect(back.added == ["worker"])
        #expect(back.stopped == 1)
        // The old call is two versions behind: it stops at once with its own kind of error
        // (before, its asker waited for the timeout: its sleep's timer woke the new agent).
        do {
            _ = try await slow
            Issue.record("the old call should have been stopped")
        } catch let error as ReplyError {
            #expect(error.kind == .callStopped)
        }
        #expect(try await node.ask("worker", "x").string == "back:x")
        // Its sleep's end, due now, reaches nothing: the new agent goes on answering.
        try await Task.sleep(for: .milliseconds(1600))
        #expect(try await node.ask("worker", "y").string == "back:y")
        await node.shutdown()
    }

    @Test func migrateRunsWithTheOldStateAndVersion() async throws {
        let f = try fixture()
        let node = try await start(f)
        for _ in 0..<3 { _ = try await node.ask("worker", "x") }
        try f.write("n/agents/worker/agent.lua", """
            function migrate(old, from)
              return {total = old.count, from = from}
            end
            function on_task() return state.total .. " from " .. state.from end
            """)
        #expect(await node.reload().upgraded == 1)
        #expect(try await node.ask("worker", "x").string == "3 from 1.0")
        await node.shutdown()
    }

    @Test func aChangedSkillReloadsAndABrokenOneIsRefused() async throws {
        let f = try fixture()
        try f.write("n/agents/worker/agent.lua", "local greet = use('greet@1')\nfunction on_task() return greet.hello() end\n")
        let node = try await start(f)
        #expect(try await node.ask("worker", "x").string == "s1")
        try f.write("n/skills/greet/init.lua", "return { hello = function() return 's2' end }")
        let outcome = await node.reload()
        #expect(outcome.skillsReloaded)
        #expect(try await node.ask("worker", "x").string == "s2")
        try f.write("n/skills/greet/init.lua", "return { hello = function() return 's3' end")
        #expect(await node.reload().error?.contains("skills/greet/init.lua:1") == true)
        #expect(try await node.ask("worker", "x").string == "s2")
        // node.toml is all or nothing too.
        try f.write("n/node.toml", "name = \"n\"\nparents = [\n")
        #expect(await node.reload().error?.contains("node.toml") == true)
        #expect(try await node.ask("worker", "x").string == "s2")
        await node.shutdown()
    }

    @Test func watchedChangesGoLiveAddAndRemoveAgentsAndBurstsCoalesce() async throws {
        let f = try fixture()
        let node = try await start(f)
        try await node.watch(quiet: .milliseconds(40))
        _ = try await node.ask("worker", "x")
        // A burst of saves: one reload.
        for i in 0..<10 { try f.write("n/agents/worker/agent.lua", "function on_task() return 'burst \(i)' end\n") }
        #expect(try await eventually { try await node.ask("worker", "x").string == "burst 9" })
        try await Task.sleep(for: .milliseconds(150))
        #expect(await node.reloadCount == 1)
        // A new agent goes live.
        try f.write("n/agents/newbie/agent.lua", "function on_task(t) return 'hi ' .. t end\n")
        try f.write("n/agents/newbie/agent.toml", "name = \"newbie\"\n")
        #expect(try await eventually { try await node.ask("newbie", "there").string == "hi there" })
        // A removed one stops, its state saved.
        try FileManager.default.removeItem(atPath: f.path("n") + "/agents/worker")
        #expect(try await eventually { await node.agents().allSatisfy { $0.name != "worker" } })
        await #expect(throws: (any Error).self) { try await node.ask("worker", "x") }
        await node.shutdown()
    }

    @Test func aHundredReloadsLeaveMemoryBounded() async throws {
        let f = try fixture()
        let node = try await start(f)
        _ = try await node.ask("worker", "x")
        var after10 = 0
        for i in 1...100 {
            try f.write("n/agents/worker/agent.lua", "local big = string.rep('x', 10000) .. \(i)\nfunction on_task() return #big end\n")
            try f.write("n/skills/greet/init.lua", "return { hello = function() return 's\(i)' end }")
            #expect(await node.reload().error == nil)
            _ = try await node.ask("worker", "x")
            if i == 10 { after10 = await node.memoryInUse() }
        }
        let after100 = await node.memoryInUse()
        #expect(after100 < after10 + 64 * 1024, "\(after10) -> \(after100)")
        await node.shutdown()
    }

    @Test func onlyTheChangedKindIsReloaded() async throws {
        let f = try NodeFixture(nodes: ["n": (parents: [], agents: [
            "a": (uses: [], lua: "function on_task() return 'a1' end"),
            "b": (uses: [], lua: "function on_task() return 'b1' end"),
        ], skills: [:])])
        let node = try await start(f)
        #expect(try await node.ask("a", 1).string == "a1")
        #expect(await node.reload().isEmpty)
        try f.write("n/agents/b/agent.lua", "function on_task() return 'b2' end")
        let outcome = await node.reload()
        #expect(outcome.changed == ["b"])
        #expect(outcome.upgraded == 0)   // b was dormant: it activates on the new code
        #expect(try await node.ask("b", 1).string == "b2")
        #expect(try await node.ask("a", 1).string == "a1")
        await node.shutdown()
    }

    @Test func theWatcherSurvivesALinkLoopAndReportsChanges() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-watch-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/a/b", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/a/b/loop", withDestinationPath: root + "/a")
        let seen = Mutex<[String]>([])
        let watcher = try FileWatcher(folders: [root + "/a"]) { paths in seen.withLock { $0 += paths } }
        try "x".write(toFile: root + "/a/b/new.lua", atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: root + "/a/c", withIntermediateDirectories: true)
        try await Task.sleep(for: .milliseconds(100))
        try "y".write(toFile: root + "/a/c/later.lua", atomically: false, encoding: .utf8)
        #expect(try await eventually { seen.withLock { $0.contains(root + "/a/c/later.lua") } })
        #expect(seen.withLock { $0.contains(root + "/a/b/new.lua") })
        watcher.stop()
    }
}

extension Node {
    /// Whether the agent has a handler in flight (running, or waiting in `sleep` or `ask`): the
    /// reload tests wait for this instead of guessing how long the ask takes to arrive.
    func hasCallInFlight(_ agent: String) -> Bool {
        engine.agents[agent]?.lifecycle.hasCallInFlight ?? false
    }
}
